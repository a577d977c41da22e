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

/** What the extended attributes of a container's upper directory say, as container paths. */
export interface UpperXattrs {
  /** Directories marked opaque: their lower contents are hidden as a whole. */
  opaque: Set<string>;
  /** Files that carry file capabilities (security.capability, e.g. from setcap), with the xattr's bytes. */
  capped: Map<string, Buffer>;
}

/**
 * Reads the attributes that matter for a container's changes in one
 * getfattr pass (package attr; Node cannot read xattrs): opaque markers,
 * which overlay in a user namespace writes as user.overlay.opaque and
 * fuse-overlayfs as user.fuseoverlayfs.opaque (only meaningful when `top`
 * is an overlay upper directory), and file capabilities. One process, not
 * one per attribute: a build step pays for every process it starts.
 * Without getfattr it fails: what it would find (a capability, an opaque
 * directory) cannot be left out of a layer without a word.
 */
export function upperXattrs(top: string, opts: { opaque: boolean }): UpperXattrs {
  const names = opts.opaque ? '^(user\\.(overlay|fuseoverlayfs)\\.opaque|security\\.capability)$' : '^security\\.capability$';
  // Hex values: a capability's bytes are binary, and the opaque marker reads as 0x79 ("y").
  const r = runCapture('getfattr', ['-R', '-h', '--absolute-names', '-d', '-m', names, '-e', 'hex', top]);
  if (r.code === 127) throw new Error('getfattr is not installed (Debian package attr): it is needed to read the extended attributes of what the container changed');
  const out: UpperXattrs = { opaque: new Set(), capped: new Map() };
  let file: string | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      file = posix.join('/', posix.relative(top, unescapeName(line.slice(8))));
    } else if (file && opts.opaque && /^user\.\w+\.opaque=0x79$/.test(line)) {
      out.opaque.add(file);
    } else if (file && line.startsWith('security.capability=')) {
      const hex = /^security\.capability=0x([0-9a-f]+)$/.exec(line);
      // Stored without them would be a silent downgrade: a value that is not hex is refused.
      if (!hex) throw new Error(`cannot read the file capabilities of ${file}: getfattr printed "${line}"`);
      out.capped.set(file, Buffer.from(hex[1]!, 'hex'));
    }
  }
  return out;
}
