import { extractLayer, LayerError, openLayerInput } from '../image/extract.js';
import { keepIdShift } from '../engine/containers/spec.js';
import { shiftOwners } from '../storage/shift.js';
import { mkdirSync, rmSync } from 'node:fs';
import { statInRoot } from '../runtime/stat-in-root.js';
import { extractInRoot, tarInRoot } from '../runtime/in-root.js';
import { containerChanges } from '../storage/changes.js';
import { upperXattrs } from '../storage/upper-xattrs.js';
import { servePacks } from '../storage/pack-server.js';

/**
 * Helpers that rootlet runs inside the user's namespace (`nsenter ... node
 * rootlet-helper.cjs __NAME`). Not for users: they trust their arguments.
 */
export async function runInternal(name: string, args: string[]): Promise<number> {
  try {
    switch (name) {
      case '__extract-layer': {
        const [dest, blobOut, idLimit, outside] = args as [string, string, string, string];
        const parent = process.ppid;
        mkdirSync(dest, { mode: 0o755 });
        let r;
        try {
          r = await extractLayer(openLayerInput('-'), dest, {
            idLimit: Number(idLimit),
            outsideIds: outside === 'root' ? 'root' : 'fail',
            blobOut: blobOut === '-' ? undefined : blobOut,
          });
          // A rootlet killed after sending the whole layer can no longer rename it into place: nobody would own these.
          if (process.ppid !== parent) throw new Error('rootlet ended before the layer was stored');
        } catch (err) {
          // Cleaned up here too: rootlet may have been killed, which is why the input ended.
          rmSync(dest, { recursive: true, force: true });
          if (blobOut !== '-') rmSync(blobOut, { force: true });
          throw err;
        }
        process.stdout.write(JSON.stringify(r));
        return 0;
      }
      case '__shift-owners': {
        const [root, uid, gid, size] = args as [string, string, string, string];
        shiftOwners(root, (id) => keepIdShift(id, Number(uid), Number(size)), (id) => keepIdShift(id, Number(gid), Number(size)));
        return 0;
      }
      case '__stat-in-root': {
        const [root, path, follow] = args as [string, string, string];
        process.stdout.write(JSON.stringify(statInRoot(root, path, follow === '1')));
        return 0;
      }
      // cp: tar's statuses, so the caller reads them as tar's (1 is "files changed while read", 2 a failure).
      case '__tar-in-root': {
        const [root, dir, ...tarArgs] = args as [string, string, ...string[]];
        try {
          return await tarInRoot(root, dir, tarArgs);
        } catch (err) {
          process.stderr.write(`${dir}: ${(err as Error).message}\n`);
          return 2;
        }
      }
      case '__extract-in-root': {
        const [root, dir, sameOwner] = args as [string, string, string];
        try {
          await extractInRoot(process.stdin, root, dir, { sameOwner: sameOwner === '1' });
          return 0;
        } catch (err) {
          process.stderr.write(`${(err as Error).message}\n`);
          return 2;
        }
      }
      case '__container-changes': {
        const o = JSON.parse(args[0]!) as { top: string; mode: 'overlay' | 'copy'; layers: string[]; ignore: string[]; skipAtRoot: string[]; whiteoutFiles: boolean };
        const opaque = o.mode === 'overlay' ? upperXattrs(o.top, { opaque: true }).opaque : new Set<string>();
        process.stdout.write(JSON.stringify(containerChanges({ ...o, opaque, ignore: new Set(o.ignore) })));
        return 0;
      }
      // build: every step's layer, packed (and stored) by one helper process per build (storage/pack-server.ts).
      case '__pack-server':
        return await servePacks(process.stdin, process.stdout);
      default:
        process.stderr.write(`unknown internal command ${name}\n`);
        return 2;
    }
  } catch (err) {
    const msg = err instanceof LayerError ? err.message : `${name}: ${(err as Error).message}`;
    process.stderr.write(`${msg}\n`);
    return 1;
  }
}
