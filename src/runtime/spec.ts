import type { MapEntry } from '../rootless/userns.js';

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

export interface SpecInput {
  rootfs: string;
  readonlyRootfs: boolean;
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  terminal: boolean;
  hostname: string;
  /** host: the host's network namespace; else a new one, or the one at netnsPath. */
  network: 'own' | 'host';
  /** A network namespace to join (rootlet's bridge or stack namespace, or another container's). */
  netnsPath?: string;
  mounts: MountRequest[];
  /** Files rootlet writes for the container (hosts, hostname, resolv.conf), bound in read-write. */
  etcFiles: Array<{ source: string; destination: string }>;
  /** Maps for a nested user namespace (keep-id); none means the user's namespace itself. */
  userns?: { uidMappings: MapEntry[]; gidMappings: MapEntry[] };
  cgroupV2: boolean;
  initPath?: string;
  /** Limits and the cgroup they apply in (only when asked for). */
  resources?: { resources: object; cgroupsPath: string };
}

/** Docker's default capability set: what container root may do. */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

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

  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (ownsNetns) namespaces.push(input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' });
  if (input.cgroupV2) namespaces.push({ type: 'cgroup' });
  if (input.userns) namespaces.push({ type: 'user' });

  const isRoot = input.user.uid === 0;
  const caps = isRoot ? DEFAULT_CAPS : [];
  const args = input.initPath ? [INIT_PATH, '--', ...input.args] : input.args;

  const linux: Record<string, unknown> = {
    namespaces,
    maskedPaths: MASKED_PATHS,
    readonlyPaths: READONLY_PATHS,
  };
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
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args,
      env: input.env,
      cwd: input.cwd,
      capabilities: { bounding: DEFAULT_CAPS, effective: caps, permitted: caps, inheritable: [] },
      noNewPrivileges: false,
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    hostname: input.hostname,
    mounts,
    linux,
  };
}
