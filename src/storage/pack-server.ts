import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { packCopy, type CopyInput } from './layer-pack.js';
import { packAndStore } from './pack-store.js';
import { upperXattrs } from './upper-xattrs.js';

/**
 * The build's layer packer, inside the user's namespace: one helper process
 * per build answers every step's request, instead of one process per step
 * (a node start and an nsenter each, which at load cost more than packing a
 * small layer). Requests and answers are JSON lines; requests run as they
 * come (independent stages pack at the same time), each answered by its id.
 */

/** A RUN step's changes as the engine sends them (sets as arrays). */
export interface ChangesWire {
  top: string;
  mode: 'overlay' | 'copy';
  layers: string[];
  ignore: string[];
  skipAtRoot: string[];
  whiteoutFiles: boolean;
}

export type PackRequest =
  /** A layer packed and extracted into the store under temporary names (dest, blob) in one pass. */
  | { id: number; op: 'store'; changes?: ChangesWire; copy?: Omit<CopyInput, 'out'>; dest: string; blob: string; idLimit: number }
  /** A COPY's files as a tar file, hashed for the cache key before anything is stored. */
  | { id: number; op: 'copy-tar'; copy: CopyInput & { out: string } };

export type PackAnswer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

async function answer(req: PackRequest, ended: () => boolean): Promise<unknown> {
  if (req.op === 'copy-tar') return packCopy(req.copy);
  let what: Parameters<typeof packAndStore>[0];
  if (req.changes) {
    const x = upperXattrs(req.changes.top, { opaque: req.changes.mode === 'overlay' });
    what = { changes: { ...req.changes, opaque: x.opaque, capped: x.capped, ignore: new Set(req.changes.ignore) } };
  } else {
    what = { copy: req.copy! };
  }
  const r = await packAndStore(what, req.dest, req.blob, req.idLimit);
  // A rootlet that ended meanwhile can no longer rename the layer into place: nobody would own it.
  if (ended()) {
    rmSync(req.dest, { recursive: true, force: true });
    rmSync(req.blob, { force: true });
    throw new Error('rootlet ended before the layer was stored');
  }
  return r;
}

/** Serves requests from `input` until it ends (rootlet closed it, or ended) and every request is answered. */
export async function servePacks(input: Readable, output: Writable): Promise<number> {
  const parent = process.ppid;
  let closed = false;
  const ended = () => closed || process.ppid !== parent;
  const pending = new Set<Promise<void>>();
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as PackRequest;
    const p = answer(req, ended).then(
      (result): PackAnswer => ({ id: req.id, ok: true, result }),
      (err: Error): PackAnswer => ({ id: req.id, ok: false, error: err.message.replace(/\s*\n\s*/g, ' ') }),
    ).then((a) => { output.write(`${JSON.stringify(a)}\n`); });
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  closed = true;
  await Promise.all(pending);
  return 0;
}
