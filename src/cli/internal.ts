import { extractLayer, LayerError, openLayerInput } from '../image/extract.js';
import { keepIdShift } from '../engine/containers/spec.js';
import { shiftOwners } from '../storage/shift.js';
import { mkdirSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { statInRoot } from '../runtime/stat-in-root.js';
import { extractInRoot, tarInRoot } from '../runtime/in-root.js';
import { containerChanges } from '../storage/changes.js';
import { upperXattrs } from '../storage/upper-xattrs.js';
import { servePacks } from '../storage/pack-server.js';

/**
 * Extracts a layer stream into dest (made here), keeping the raw bytes in
 * blobOut ('-': not kept). Whatever fails, nothing of it is left behind.
 * `sourceFailure` names why the input stopped early, which is what the user
 * must hear rather than the truncated tar it leaves.
 */
async function extractHere(input: Readable, dest: string, blobOut: string, idLimit: string, outside: string, sourceFailure?: () => Error | undefined) {
  const parent = process.ppid;
  // A rootlet killed mid-pull no longer reads what this prints: stop at once rather than download the rest for nobody.
  const orphaned = setInterval(() => { if (process.ppid !== parent) input.destroy(new Error('rootlet ended before the layer was stored')); }, 250);
  mkdirSync(dest, { mode: 0o755 });
  try {
    const r = await extractLayer(input, dest, {
      idLimit: Number(idLimit),
      outsideIds: outside === 'root' ? 'root' : 'fail',
      blobOut: blobOut === '-' ? undefined : blobOut,
    });
    // A rootlet killed after sending the whole layer can no longer rename it into place: nobody would own these.
    if (process.ppid !== parent) throw new Error('rootlet ended before the layer was stored');
    return r;
  } catch (err) {
    // Cleaned up here too: rootlet may have been killed, which is why the input ended.
    rmSync(dest, { recursive: true, force: true });
    if (blobOut !== '-') rmSync(blobOut, { force: true });
    const cut = sourceFailure?.();
    throw cut ? new LayerError(`${cut.message}; nothing was stored`, 'io') : err;
  } finally {
    clearInterval(orphaned);
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Helpers that rootlet runs inside the user's namespace (`nsenter ... node
 * rootlet-helper.cjs __NAME`). Not for users: they trust their arguments.
 */
export async function runInternal(name: string, args: string[]): Promise<number> {
  try {
    switch (name) {
      case '__extract-layer': {
        const [dest, blobOut, idLimit, outside] = args as [string, string, string, string];
        process.stdout.write(JSON.stringify(await extractHere(openLayerInput('-'), dest, blobOut, idLimit, outside)));
        return 0;
      }
      // pull: the blob fetched here, from the socket into extraction (stdin: the request, from RegistryClient.blobSource).
      // stdout: "p BYTES" lines as it arrives, then the result; an answer other than 200 is the line "s STATUS" and exit 3.
      case '__fetch-layer': {
        const [dest, blobOut, idLimit, outside] = args as [string, string, string, string];
        const { BlobStatusError, openBlob } = await import('../image/registry/blob-get.js');
        const spec = JSON.parse(await readAll(process.stdin)) as import('../image/registry/blob-get.js').BlobFetchSpec;
        let shown = 0;
        let blob;
        try {
          blob = await openBlob(spec, (n) => {
            // Every 512 KiB and at the end: what a progress bar needs, without a write per socket read.
            if (n - shown >= 1 << 19 || n === spec.size) {
              shown = n;
              process.stdout.write(`p ${n}\n`);
            }
          });
        } catch (err) {
          if (!(err instanceof BlobStatusError)) throw new LayerError((err as Error).message, 'io');
          process.stdout.write(`s ${err.status}\n`);
          return 3;
        }
        try {
          const r = await extractHere(blob.body, dest, blobOut, idLimit, outside, blob.failure);
          process.stdout.write(`${JSON.stringify(r)}\n`);
        } finally {
          blob.close();
        }
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
