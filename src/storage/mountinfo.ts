import { readFileSync, realpathSync } from 'node:fs';

/** Undoes mountinfo's octal escapes (\040 for a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

interface MountEntry { mountPoint: string; options: string[]; fsType: string }

export function readMountInfo(text = readFileSync('/proc/self/mountinfo', 'utf8')): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-');
    out.push({ mountPoint: unescape(f[4] ?? ''), options: (f[5] ?? '').split(','), fsType: f[sep + 1] ?? '' });
  }
  return out;
}

/** The mount that holds a path: the longest mount point that is a prefix of it (the last one mounted wins). */
export function mountOf(path: string, mounts = readMountInfo()): MountEntry | undefined {
  let real = path;
  try { real = realpathSync(path); } catch { /* keep as given */ }
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const covers = mp === '/' || real === mp || real.startsWith(mp + '/');
    if (covers && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/**
 * Flags the kernel locks on a mount made in a more privileged namespace: a
 * bind mount of it in our namespace can only be remounted read-only if it
 * keeps them, so they are added to the bind's options.
 */
export function lockedFlags(path: string): string[] {
  const m = mountOf(path);
  if (!m) return [];
  return ['nosuid', 'nodev', 'noexec'].filter((f) => m.options.includes(f));
}
