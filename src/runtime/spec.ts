import type { MapEntry } from '../rootless/userns.js';
import { DEFAULT_CAPS } from './capabilities.js';
import type { OciSeccomp } from './seccomp.js';

export { DEFAULT_CAPS };

/** A mount as the user asked for it (volumes, tmpfs). */
export interface MountRequest {
  type: 'bind' | 'tmpfs';
  source: string;
  destination: string;
  options: string[];
}

/** The resolved process identity inside the container. */
export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/** A terminal's size in characters. */
export interface ConsoleSize {
  rows: number;
  columns: number;
}

/**
 * The OCI process's consoleSize: the runtime sizes the terminal before the
 * process runs. Setting it afterwards (the console relay's ioctl once the
 * runtime hands over the terminal) races with the process: a quick one, as
 * `exec -t box stty size`, could still read 0x0 on a loaded machine.
 */
export function ociConsoleSize(terminal: boolean, size: ConsoleSize | undefined): { consoleSize?: { height: number; width: number } } {
  return terminal && size && size.rows > 0 && size.columns > 0 ? { consoleSize: { height: size.rows, width: size.columns } } : {};
}

export interface SpecInput {
  rootfs: string;
  readonlyRootfs: boolean;
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  terminal: boolean;
  /** The terminal's size when the process starts. */
  consoleSize?: ConsoleSize;
  hostname: string;
  /** host: the host's network namespace; else a new one, or the one at netnsPath. */
  network: 'own' | 'host';
  /** A network namespace to join (rootlet's bridge or stack namespace, or another container's). */
  netnsPath?: string;
  /** Namespaces joined instead of made (a pod's infra's): IPC and UTS by path; a joined UTS keeps its own hostname. */
  joinNamespaces?: { ipc?: string; uts?: string };
  mounts: MountRequest[];
  /** Files rootlet writes for the container (hosts, hostname, resolv.conf), bound in read-write. */
  etcFiles: Array<{ source: string; destination: string }>;
  /** Maps for a nested user namespace (keep-id); none means the user's namespace itself. */
  userns?: { uidMappings: MapEntry[]; gidMappings: MapEntry[] };
  cgroupV2: boolean;
  initPath?: string;
  /** Limits and the cgroup they apply in (only when asked for). */
  resources?: { resources: object; cgroupsPath: string };
  /** Capabilities, seccomp, masked paths, devices; absent: the defaults without a seccomp filter. */
  security?: SpecSecurity;
  /** process.rlimits; -1 is unlimited (written as RLIM_INFINITY by specText). */
  rlimits?: Array<{ type: string; soft: number; hard: number }>;
  /** The user's annotations (the security settings' own are added over them). */
  annotations?: Record<string, string>;
}

/** Stands for RLIM_INFINITY (2^64-1), which a JavaScript number cannot hold exactly, until specText writes it. */
const RLIM_INFINITY = '__rootlet_rlim_infinity__';

/** config.json's text: JSON, with unlimited rlimits as the exact 18446744073709551615 the runtimes parse. */
export function specText(config: object): string {
  return JSON.stringify(config).replaceAll(`"${RLIM_INFINITY}"`, '18446744073709551615');
}

/** The container's confinement, resolved by the engine (src/engine/containers/security.ts). */
export interface SpecSecurity {
  /** The bounding set; root's effective and permitted set too. */
  caps: string[];
  noNewPrivileges: boolean;
  /** Absent: no filter (seccomp=unconfined, --privileged). */
  seccomp?: OciSeccomp;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Host devices bound in (a user namespace cannot mknod). */
  devices: Array<{ source: string; destination: string; readOnly: boolean }>;
  /** The runtime's annotations (crun's run.oci.keep_original_groups). */
  annotations: Record<string, string>;
}

/** Docker's masked paths (moby's oci/defaults.go): read as empty in the container. */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
/** Docker's read-only paths. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const INIT_PATH = '/run/rootlet-init';

interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

function ociMaps(m: MapEntry[]) {
  return m.map((e) => ({ containerID: e.inside, hostID: e.outside, size: e.count }));
}

/** Builds an OCI runtime-spec config.json for runc/crun. */
export function buildRuntimeSpec(input: SpecInput): object {
  const ownsNetns = input.network !== 'host';
  // sysfs needs a network namespace owned by the container's user namespace; a nested one (keep-id) joining ours does not own it.
  const sysfsOk = ownsNetns && !(input.netnsPath && input.userns);
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // sysfs can only be mounted by the owner of the network namespace; with the host's, bind it.
    sysfsOk
      ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] },
  ];
  if (input.cgroupV2) {
    mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
  }
  for (const f of input.etcFiles) {
    mounts.push({ destination: f.destination, type: 'bind', source: f.source, options: ['bind', 'rprivate'] });
  }
  if (input.initPath) {
    mounts.push({ destination: INIT_PATH, type: 'bind', source: input.initPath, options: ['bind', 'ro', 'nosuid', 'nodev'] });
  }
  for (const m of input.mounts) {
    mounts.push({ destination: m.destination, type: m.type, source: m.source, options: m.options });
  }
  const sec = input.security;
  for (const d of sec?.devices ?? []) {
    // No nodev: the node is the host's, on the host's devtmpfs, which is what lets it work in a user namespace.
    mounts.push({ destination: d.destination, type: 'bind', source: d.source, options: ['bind', 'nosuid', 'noexec', 'rprivate', ...(d.readOnly ? ['ro'] : [])] });
  }

  const join = input.joinNamespaces ?? {};
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'pid' }, join.ipc ? { type: 'ipc', path: join.ipc } : { type: 'ipc' }, join.uts ? { type: 'uts', path: join.uts } : { type: 'uts' }, { type: 'mount' }];
  if (ownsNetns) namespaces.push(input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' });
  if (input.cgroupV2) namespaces.push({ type: 'cgroup' });
  if (input.userns) namespaces.push({ type: 'user' });

  const isRoot = input.user.uid === 0;
  const bounding = sec?.caps ?? DEFAULT_CAPS;
  const caps = isRoot ? bounding : [];
  const args = input.initPath ? [INIT_PATH, '--', ...input.args] : input.args;
  const annotations = { ...input.annotations, ...sec?.annotations };

  const linux: Record<string, unknown> = {
    namespaces,
    maskedPaths: sec?.maskedPaths ?? MASKED_PATHS,
    readonlyPaths: sec?.readonlyPaths ?? READONLY_PATHS,
  };
  if (sec?.seccomp) linux.seccomp = sec.seccomp;
  if (input.resources) {
    linux.resources = input.resources.resources;
    linux.cgroupsPath = input.resources.cgroupsPath;
  }
  if (input.userns) {
    linux.uidMappings = ociMaps(input.userns.uidMappings);
    linux.gidMappings = ociMaps(input.userns.gidMappings);
  }

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: input.terminal,
      ...ociConsoleSize(input.terminal, input.consoleSize),
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args,
      env: input.env,
      cwd: input.cwd,
      capabilities: { bounding, effective: caps, permitted: caps, inheritable: [] },
      noNewPrivileges: !!sec?.noNewPrivileges,
      ...(input.rlimits?.length ? { rlimits: input.rlimits.map((r) => ({ type: r.type, soft: unlimited(r.soft), hard: unlimited(r.hard) })) } : {}),
    },
    ...(Object.keys(annotations).length ? { annotations } : {}),
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    // The runtimes refuse a hostname without a UTS namespace of the container's own.
    ...(join.uts ? {} : { hostname: input.hostname }),
    mounts,
    linux,
  };
}

function unlimited(n: number): number | string {
  return n < 0 ? RLIM_INFINITY : n;
}
