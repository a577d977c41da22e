import type { ConsoleSize } from '../../runtime/spec.js';
import type { PortBinding } from '../../util/values.js';

/**
 * What a front door asks for when it creates a container: values, not
 * flag text. Shaped after the Docker Engine API's `Config` + `HostConfig`
 * so that the API server maps a request almost field by field; the CLI and
 * compose get here through one parse step (src/grammar/create-flags.ts).
 * Everything caller-relative is already resolved: bind sources are
 * absolute, `-e KEY` and env files are complete KEY=VALUE entries.
 */
export interface CreateRequest {
  /** An image reference or id; it must be in the store (ImageService.ensure pulls it first). */
  image: string;
  name?: string;
  /** Config.Cmd: replaces the image's CMD when non-empty. */
  cmd?: string[];
  /** Config.Entrypoint: replaces the image's when given; [] clears it (and the image's CMD with it, as Docker). */
  entrypoint?: string[];
  /** Config.Env: KEY=VALUE entries, applied over the image's. */
  env?: string[];
  workingDir?: string;
  /** user[:group], by name or id. */
  user?: string;
  hostname?: string;
  labels?: Record<string, string>;
  /** Config.Tty and Config.OpenStdin (-t, -i). */
  tty?: boolean;
  openStdin?: boolean;
  /** Config.StdinOnce: the input closes when the attached client's input ends (the API's docker run -i). */
  stdinOnce?: boolean;
  /** Config.AttachStdin/Stdout/Stderr (-a): which streams a foreground run joins to the caller's (absent: all). */
  attachStdin?: boolean;
  attachStdout?: boolean;
  attachStderr?: boolean;
  stopSignal?: string;
  stopTimeoutSec?: number;
  /** Config.Healthcheck over the image's; test ['NONE'] disables the image's. Durations in ms. */
  healthcheck?: HealthRequest;
  /** Config.ExposedPorts: "80/tcp", ranges "9000-9001/udp". */
  exposedPorts?: string[];
  /** --platform: os/arch[/variant] the image must be for (a pull asks for it; an image here of another is refused). */
  platform?: string;
  /** --pod: a pod (name or id) whose namespaces the container joins; its ports are the pod's. */
  pod?: string;
  host?: HostRequest;
}

export interface HealthRequest {
  /** ["CMD-SHELL", script] or ["CMD", argv...] or ["NONE"]; absent: the image's. */
  test?: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

/** HostConfig's part of the request. */
export interface HostRequest {
  mounts?: MountSpec[];
  readonlyRootfs?: boolean;
  /**
   * HostConfig.NetworkMode: absent or "default" for rootlet's default
   * network, a network name or several separated by commas, "none", "host",
   * "pasta", "slirp4netns", "container:NAME".
   */
  networkMode?: string;
  networkAliases?: string[];
  portBindings?: PortBinding[];
  publishAllPorts?: boolean;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** NAME:IP, IP may be host-gateway. */
  extraHosts?: string[];
  init?: boolean;
  userns?: 'host' | 'keep-id';
  runtime?: string;
  /** HostConfig.Isolation: sandbox runs the container on gVisor's user-space kernel (runsc); default, the runtime's own. */
  isolation?: Isolation;
  /** --rm */
  autoRemove?: boolean;
  restartPolicy?: RestartPolicy;
  resources?: ResourcesRequest;
  /** HostConfig.CapAdd / CapDrop: NET_ADMIN or CAP_NET_ADMIN, or ALL. */
  capAdd?: string[];
  capDrop?: string[];
  /**
   * HostConfig.Privileged. Rootless, it grants every capability of the
   * user's namespace, no seccomp filter, no masked paths and the host
   * devices the user can open: nothing the user could not do anyway.
   */
  privileged?: boolean;
  /** HostConfig.SecurityOpt, as values. */
  securityOpt?: SecurityOptions;
  /** HostConfig.Devices: host devices the user can open, bound in. */
  devices?: DeviceMapping[];
  /** HostConfig.GroupAdd: group names or ids of the container, or "keep-groups" (the user's own groups stay). */
  groupAdd?: string[];
  /** HostConfig.Ulimits: none may exceed the caller's own hard limit (a user namespace cannot raise it). */
  ulimits?: Ulimit[];
  /** HostConfig.Annotations: OCI annotations written into the runtime's config. */
  annotations?: Record<string, string>;
  /** HostConfig.LogConfig: k8s-file (default), none, or journald where a journal runs. */
  logConfig?: LogConfig;
  /** HostConfig.ConsoleSize: the terminal's size when a -t container starts, until an attach resizes it. */
  consoleSize?: ConsoleSize;
}

/** One of Docker's HostConfig.Ulimits: Name as Docker's (nofile, nproc, ...); -1 is unlimited. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

export type LogDriver = 'k8s-file' | 'none' | 'journald';
export const LOG_DRIVERS: LogDriver[] = ['k8s-file', 'none', 'journald'];

/** HostConfig.LogConfig; the only option is max-size (bytes, as text: "10m"), the log file's size before conmon starts it anew. */
export interface LogConfig {
  type: LogDriver;
  config?: Record<string, string>;
}

/** What `--security-opt` says, as values. */
export interface SecurityOptions {
  noNewPrivileges?: boolean;
  /** "unconfined", or the absolute path of a profile (containers-common/Docker format); absent: the default profile. */
  seccomp?: string;
  /** More paths to mask. */
  mask?: string[];
  /** Default masked/read-only paths to leave visible, or ["ALL"]. */
  unmask?: string[];
}

/** One of Docker's HostConfig.Devices. */
export interface DeviceMapping {
  pathOnHost: string;
  pathInContainer: string;
  /** A subset of "rwm". */
  cgroupPermissions: string;
}

export type Isolation = 'default' | 'sandbox';
export const ISOLATIONS: Isolation[] = ['default', 'sandbox'];

export interface ResourcesRequest {
  memoryBytes?: number;
  /** CPUs × 10⁹, as Docker's NanoCpus. */
  nanoCpus?: number;
  /** -1 or 0: no limit. */
  pidsLimit?: number;
}

/** A mount, as Docker's `Mounts` entries have them. */
export type MountSpec =
  /** mustExist: a missing source is refused (Docker's HostConfig.Mounts, --mount), not made (its Binds, -v). */
  | { type: 'bind'; source: string; target: string; readOnly?: boolean; propagation?: string; mustExist?: boolean }
  /** source absent: an anonymous volume, removed with the container by rm -v. */
  | { type: 'volume'; source?: string; target: string; readOnly?: boolean; propagation?: string; volumeOptions?: Record<string, string> }
  /** options as tmpfs takes them (size=64m, mode=1777, exec ...); nosuid,nodev,noexec are the defaults. */
  | { type: 'tmpfs'; target: string; options?: string[] };

export interface RestartPolicy {
  name: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  maxRetries: number;
}

/** `exec`'s request: values; env is complete KEY=VALUE entries. */
export interface ExecRequest {
  command: string[];
  interactive?: boolean;
  tty?: boolean;
  detach?: boolean;
  user?: string;
  workingDir?: string;
  env?: string[];
  /** ExecConfig.Privileged. */
  privileged?: boolean;
}
