import { mkdirSync, rmSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { extractLayer, type ExtractResult } from '../image/extract.js';
import { packChanges, packCopy, type CopyInput } from './layer-pack.js';
import type { ChangesInput } from './changes.js';

/**
 * A build step's layer packed and stored in one pass, in one helper run:
 * the packer's tar goes straight into the same checked extraction a pulled
 * layer takes (extractLayer), which writes the layer directory and the
 * blob. A separate pack and extract cost a second helper start and a
 * second write and read of the tar, per step.
 */
export async function packAndStore(
  what: { changes: ChangesInput & { capped: Map<string, Buffer> } } | { copy: Omit<CopyInput, 'out'> },
  dest: string,
  blobOut: string,
  idLimit: number,
): Promise<ExtractResult> {
  mkdirSync(dest, { mode: 0o755 });
  const pipe = new PassThrough({ highWaterMark: 1 << 20 });
  const extracting = extractLayer(pipe, dest, { idLimit, outsideIds: 'fail', blobOut });
  // Whichever fails first ends the other: a packer error must not leave the extraction waiting for input.
  const packing = ('changes' in what ? packChanges(what.changes, pipe) : packCopy({ ...what.copy, out: pipe }))
    .catch((err: Error) => { pipe.destroy(err); throw err; });
  extracting.catch(() => { pipe.resume(); });
  try {
    const [, r] = await Promise.all([packing, extracting]);
    return r;
  } catch (err) {
    rmSync(dest, { recursive: true, force: true });
    rmSync(blobOut, { force: true });
    throw err;
  }
}
