import { posix } from 'node:path';
import { runCapture } from '../util/proc.js';

/** getfattr escapes unusual bytes of a file name as \ooo (a backslash as \\). */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (s[i] === '\\' && s[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 1;
    } else {
      bytes.push(...Buffer.from(s[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * The directories of an overlay upper directory marked opaque (their lower
 * contents hidden as a whole), as container paths. Overlay in a user
 * namespace marks them with user.overlay.opaque, fuse-overlayfs with
 * user.fuseoverlayfs.opaque; Node cannot read xattrs, getfattr (package
 * attr) can, in one pass. Without getfattr none are found.
 */
export function opaqueDirs(top: string): Set<string> {
  const r = runCapture('getfattr', ['-R', '-h', '--absolute-names', '-d', '-m', '^user\\.(overlay|fuseoverlayfs)\\.opaque$', '-e', 'text', top]);
  const out = new Set<string>();
  let file: string | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeName(line.slice(8));
    else if (file && /^user\.\w+\.opaque="y"$/.test(line)) out.add(posix.join('/', posix.relative(top, file)));
  }
  return out;
}
