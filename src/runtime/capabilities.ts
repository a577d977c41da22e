import { readFileSync } from 'node:fs';
import { EngineError } from '../util/errors.js';

/** Linux capabilities by number (include/uapi/linux/capability.h). */
export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/**
 * The set Docker and Podman give a rootless container's root, and no more:
 * no MKNOD (a user namespace cannot make device nodes anyway), no NET_RAW
 * (raw sockets: spoofing on the container's network), no AUDIT_WRITE.
 */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_SETFCAP',
];

/** net_admin, NET_ADMIN, CAP_NET_ADMIN → CAP_NET_ADMIN; ALL stays ALL; anything else is refused. */
export function normalizeCap(name: string, flag = 'capability'): string {
  const up = name.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  const full = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!ALL_CAPS.includes(full)) throw new EngineError(`invalid ${flag} "${name}": not a Linux capability (e.g. NET_ADMIN, SYS_PTRACE, or ALL)`);
  return full;
}

/** The capabilities this kernel knows (a runtime refuses the others). */
export function kernelCaps(): string[] {
  let last = ALL_CAPS.length - 1;
  try {
    last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch { /* no procfs: assume all known ones */ }
  return ALL_CAPS.slice(0, last + 1);
}

/**
 * The capabilities a container of this runtime can be given: the kernel's,
 * and under gVisor only those up to CAP_AUDIT_READ. The runsc Debian ships
 * (2022-12) refuses to start a sandbox whose spec names CAP_PERFMON, CAP_BPF
 * or CAP_CHECKPOINT_RESTORE; its kernel has no use for them anyway.
 */
export function knownCaps(sandbox: boolean): string[] {
  const caps = kernelCaps();
  return sandbox ? caps.slice(0, ALL_CAPS.indexOf('CAP_AUDIT_READ') + 1) : caps;
}

/**
 * The container's capability set, by Docker's rule: ALL in the adds gives
 * every capability but the dropped ones; ALL in the drops starts from none
 * and takes the adds; otherwise the defaults minus the drops plus the adds.
 * `privileged` gives every capability (of the user's namespace: rootless,
 * none of them reaches past what the user may do).
 */
export function capabilitySet(o: { capAdd?: string[]; capDrop?: string[]; privileged?: boolean }, known = kernelCaps()): string[] {
  const add = o.capAdd ?? [];
  const drop = o.capDrop ?? [];
  let caps: string[];
  if (o.privileged) caps = [...known];
  else if (add.includes('ALL')) caps = known.filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add.filter((c) => c !== 'ALL');
  else caps = [...DEFAULT_CAPS.filter((c) => !drop.includes(c)), ...add];
  const unknown = caps.find((c) => !known.includes(c));
  if (unknown) throw new EngineError(`cannot add ${unknown}: this kernel does not have that capability`);
  // In kernel order, once each.
  return known.filter((c) => caps.includes(c));
}
