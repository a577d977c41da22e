import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What this host's cgroups let a user's containers have. Everything is read
 * from files under a root directory (the real `/`, or a fixture tree in the
 * unit tests), so each kind of host can be checked without owning one.
 */
export type CgroupLayout = 'v2' | 'hybrid' | 'v1' | 'none';

export interface CgroupHost {
  layout: CgroupLayout;
  /** The calling process's cgroup in the v2 tree (the "0::" line of /proc/self/cgroup). */
  ownCgroup?: string;
  /** The user's delegated subtree: where the user's systemd puts containers' scopes. */
  delegation: string;
  /** Controllers that can be enabled below the delegation (its cgroup.controllers); none without one. */
  controllers: string[];
  /** Whether swap is accounted (memory.swap.max exists): Docker's default swap limit needs it. */
  swapAccounting: boolean;
  /**
   * How a container's cgroup is made: as a transient scope by the user's
   * systemd, which the runtime asks over the user's D-Bus bus (the only
   * way a process of a login session, outside the delegation, can be moved
   * into it: the user manager has the system manager do that). Absent
   * when no container can get a cgroup of its own here.
   */
  manager?: 'systemd';
  /** Why no container can get a cgroup of its own here (absent when it can). */
  blocker?: string;
}

/** The systemd user service's cgroup: where a user's delegated subtree lives on a cgroup v2 host. */
export function userServiceCgroup(uid: number): string {
  return `/user.slice/user-${uid}.slice/user@${uid}.service`;
}

/**
 * The hierarchy, from the cgroup mounts in mountinfo: v2 mounted at
 * /sys/fs/cgroup; hybrid, v1 controllers there with a v2 tree beside them
 * (systemd's /sys/fs/cgroup/unified); v1 alone; or none mounted. rootlet's
 * own tmpfs over the unified tree (runtime.ts hideUnifiedCgroup) hides it
 * from the runtime only: its mount is still listed, below the tmpfs.
 */
export function layoutFromMountinfo(mountinfo: string): CgroupLayout {
  let v2AtRoot = false;
  let v2Elsewhere = false;
  let v1 = false;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    const fsType = line.slice(sep + 3).split(' ')[0];
    if (fsType === 'cgroup2') {
      if (mountPoint === '/sys/fs/cgroup') v2AtRoot = true;
      else v2Elsewhere = true;
    }
    if (fsType === 'cgroup') v1 = true;
  }
  if (v2AtRoot) return 'v2';
  if (v1) return v2Elsewhere ? 'hybrid' : 'v1';
  return 'none';
}

/** The unix socket a D-Bus address names (unix:path=...), or undefined for other transports. */
function busSocket(address: string): string | undefined {
  for (const part of address.split(';')) {
    const m = /^unix:(?:.*,)?path=([^,]+)/.exec(part);
    if (m) return decodeURIComponent(m[1]!);
  }
  return undefined;
}

/**
 * The user's session bus as the runtimes find it (sd-bus, go-dbus): the
 * address in $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus.
 */
export function userBus(uid: number, env: NodeJS.ProcessEnv = process.env): { socket?: string; address: string } {
  const address = env.DBUS_SESSION_BUS_ADDRESS || `unix:path=${env.XDG_RUNTIME_DIR || `/run/user/${uid}`}/bus`;
  return { socket: busSocket(address), address };
}

function read(root: string, path: string): string | undefined {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

function words(text: string | undefined): string[] {
  return (text ?? '').trim().split(/\s+/).filter(Boolean);
}

/**
 * Reads what cgroups give `uid` here. `bus` is the user's session bus
 * (userBus); a socket path is looked for under `root`.
 */
export function detectCgroups(uid: number, opts: { root?: string; bus?: { socket?: string; address: string } } = {}): CgroupHost {
  const root = opts.root ?? '/';
  const bus = opts.bus ?? userBus(uid);
  const layout = layoutFromMountinfo(read(root, 'proc/self/mountinfo') ?? '');
  const ownCgroup = /^0::(\S*)$/m.exec(read(root, 'proc/self/cgroup') ?? '')?.[1];
  const delegation = userServiceCgroup(uid);
  const host: CgroupHost = { layout, ownCgroup, delegation, controllers: [], swapAccounting: false };
  if (layout !== 'v2') {
    const what = layout === 'hybrid' ? 'hybrid v1/v2' : layout === 'v1' ? 'cgroup v1 only' : 'not mounted';
    host.blocker = `this host's cgroups are ${what}, and a rootless container gets a cgroup of its own only from cgroup v2 delegated to its user (an admin can boot with systemd.unified_cgroup_hierarchy=1)`;
    return host;
  }
  const dir = join(root, 'sys/fs/cgroup', delegation);
  const controllers = read(root, join('sys/fs/cgroup', delegation, 'cgroup.controllers'));
  if (controllers === undefined) {
    host.blocker = `no cgroup is delegated to you: ${delegation} does not exist, as there is no systemd user instance for you (it starts when you log in through PAM with pam_systemd, or at boot after \`loginctl enable-linger ${uid}\` by an admin)`;
    return host;
  }
  try {
    // Delegate= hands these files to the user; without it they stay root's.
    accessSync(join(dir, 'cgroup.subtree_control'), constants.W_OK);
    accessSync(join(dir, 'cgroup.procs'), constants.W_OK);
  } catch {
    host.blocker = `${delegation} is not delegated to you (its cgroup.subtree_control is not writable by you): an admin can set Delegate=yes for user@.service (\`systemctl edit user@.service\`)`;
    return host;
  }
  host.controllers = words(controllers);
  host.swapAccounting = existsSync(join(dir, 'memory.swap.max'));
  if (bus.socket !== undefined && !existsSync(join(root, bus.socket))) {
    host.blocker = `your systemd user instance has no D-Bus bus at ${bus.socket}, through which the runtime asks it for a container's cgroup (install dbus-user-session and log in again, or set DBUS_SESSION_BUS_ADDRESS)`;
    return host;
  }
  host.manager = 'systemd';
  return host;
}

let hostCache: CgroupHost | undefined;

/** This host, for this process's user (read once per process). */
export function cgroupHost(uid: number): CgroupHost {
  return (hostCache ??= detectCgroups(uid));
}

/** Controllers delegated to the user (cgroup v2 only); an empty list when there is no delegation. */
export function delegatedControllers(uid: number): string[] {
  return cgroupHost(uid).controllers;
}
