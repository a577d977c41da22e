import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The kernel's per-user key quota, which every running container draws on:
 * crun and runc give each container a session keyring of its own (one key
 * named after the container id), so with Debian's default of 200 keys a
 * user runs out after a couple hundred containers, less what their login
 * session already holds. The runtimes then fail with EDQUOT, in words that
 * do not say which quota, nor how to raise it.
 */
export interface KeyQuota {
  /** Keys and bytes charged to the user now (0 when the kernel lists no key of theirs). */
  keys: number;
  bytes: number;
  /** The user's limits as the kernel applies them (root has its own sysctls). */
  maxKeys: number;
  maxBytes: number;
  /** The sysctls that set those limits, for the fix. */
  keysSysctl: string;
  bytesSysctl: string;
}

/** A container's keyring costs one key and its name: the 64-character id (crun) or `_ses.` and the id (runc), plus a NUL. */
export const KEYRING_COST = { keys: 1, bytes: 70 };

/** What /proc/key-users and /proc/sys/kernel/keys say about `uid`; undefined where the kernel has no keys support. */
export function readKeyQuota(uid: number, root = '/'): KeyQuota | undefined {
  const prefix = uid === 0 ? 'root_' : '';
  const sysctl = (name: string): number | undefined => {
    try {
      const n = Number(readFileSync(join(root, 'proc/sys/kernel/keys', `${prefix}${name}`), 'utf8').trim());
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  };
  const maxKeys = sysctl('maxkeys');
  const maxBytes = sysctl('maxbytes');
  if (maxKeys === undefined || maxBytes === undefined) return undefined;
  const q: KeyQuota = {
    keys: 0, bytes: 0, maxKeys, maxBytes,
    keysSysctl: `kernel.keys.${prefix}maxkeys`, bytesSysctl: `kernel.keys.${prefix}maxbytes`,
  };
  let users = '';
  try { users = readFileSync(join(root, 'proc/key-users'), 'utf8'); } catch { /* no line: nothing charged */ }
  // "  1000:     6 6/6 6/200 108/20000": uid, usage, keys/instantiated, quota keys/max, quota bytes/max.
  for (const line of users.split('\n')) {
    const m = /^\s*(\d+):\s+\d+\s+\d+\/\d+\s+(\d+)\/(\d+)\s+(\d+)\/(\d+)/.exec(line);
    if (!m || Number(m[1]) !== uid) continue;
    Object.assign(q, { keys: Number(m[2]), maxKeys: Number(m[3]), bytes: Number(m[4]), maxBytes: Number(m[5]) });
  }
  return q;
}

/** Whether a new container's keyring would exceed the quota. */
export function keyQuotaFull(q: KeyQuota): boolean {
  return q.keys + KEYRING_COST.keys > q.maxKeys || q.bytes + KEYRING_COST.bytes > q.maxBytes;
}

/**
 * crun: "create keyring `ID`: Disk quota exceeded"; runc: "unable to join
 * session keyring: unable to create session key: disk quota exceeded".
 */
export function isKeyringQuotaError(runtimeMessage: string): boolean {
  return /keyring\b.*(disk quota exceeded|EDQUOT)/is.test(runtimeMessage);
}

/** The one line that replaces the runtime's: what is full, and the two ways out. */
export function keyQuotaMessage(q: KeyQuota | undefined): string {
  const usage = q ? ` (in use: ${q.keys} of ${q.keysSysctl}=${q.maxKeys} keys, ${q.bytes} of ${q.bytesSysctl}=${q.maxBytes} bytes)` : '';
  // At least 10x Debian's defaults: room for about 2000 containers, ~2 MB of kernel memory at most.
  const keys = Math.max(2000, (q?.maxKeys ?? 0) * 2);
  const bytes = Math.max(2_000_000, (q?.maxBytes ?? 0) * 2);
  const sysctls = `${q?.keysSysctl ?? 'kernel.keys.maxkeys'}=${keys} ${q?.bytesSysctl ?? 'kernel.keys.maxbytes'}=${bytes}`;
  return `cannot start the container: the kernel's per-user key quota is full, and each running container holds a session keyring${usage}: `
    + `stop containers you do not need, have an admin raise the quota with \`sysctl -w ${sysctls}\` (and in /etc/sysctl.d/ to keep it), `
    + 'or set `keyring = false` under [containers] in rootlet.toml, giving up a keyring per container: containers then share the session keyring of the process that starts them (your login session\'s)';
}
