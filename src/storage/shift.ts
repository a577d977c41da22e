import { chmodSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Re-owns every file of a tree through the shift functions, keeping modes (chown clears
 * setuid/setgid, so they are set again). Runs inside the user's namespace.
 * File capabilities (security.capability) do not survive a chown.
 */
export function shiftOwners(root: string, shiftUid: (id: number) => number, shiftGid: (id: number) => number): number {
  let n = 0;
  const visit = (p: string) => {
    const st = lstatSync(p);
    lchownSync(p, shiftUid(st.uid), shiftGid(st.gid));
    if (!st.isSymbolicLink() && (st.mode & 0o6000)) chmodSync(p, st.mode & 0o7777);
    n++;
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  visit(root);
  return n;
}
