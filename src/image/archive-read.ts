import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { EngineError } from '../util/errors.js';

export interface ArchiveEntry {
  /** The entry's path, without a leading `./`. */
  name: string;
  type: tar.Header['type'];
  size: number;
  linkname: string;
  body: Readable;
}

/** Why an archive could not be read, in one line for someone who handed it over. */
export class ArchiveError extends EngineError {}

/** The first chunk of a stream, put back. */
async function sniff(input: Readable): Promise<Buffer> {
  for (;;) {
    const chunk = input.read() as Buffer | null;
    if (chunk) {
      input.unshift(chunk);
      return chunk;
    }
    if (input.readableEnded) return Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const done = () => { input.off('readable', done); input.off('end', done); input.off('error', fail); resolve(); };
      const fail = (e: Error) => { input.off('readable', done); input.off('end', done); reject(e); };
      input.once('readable', done).once('end', done).once('error', fail);
    });
  }
}

/** What a tar or gzip failure means to the user. */
function explain(err: Error, what: string): ArchiveError {
  const m = err.message;
  // Also when a layer being extracted saw the end first.
  if (/Unexpected end of data|unexpected end of file/i.test(m)) return new ArchiveError(`${what} is truncated: it ends in the middle of an entry; nothing was loaded`);
  if (err instanceof ArchiveError) return err;
  if (/Invalid tar header|Invalid header|incorrect header check|invalid block type|invalid distance|invalid stored block/i.test(m)) {
    return new ArchiveError(`${what} is not a tar archive (nor a gzip-compressed one): give a file made by save (docker-archive or oci-archive); nothing was loaded`);
  }
  if (err instanceof EngineError) return new ArchiveError(err.message, err.exitCode);
  return new ArchiveError(`${what}: ${m}; nothing was loaded`);
}

/**
 * Reads a tar archive (gzip-compressed or not) entry by entry, in archive
 * order, handing each to `onEntry`; what it leaves of a body is skipped.
 * Failures of the archive itself become one ArchiveError naming `what`.
 */
export async function readArchive(input: Readable, what: string, onEntry: (e: ArchiveEntry) => Promise<void>): Promise<void> {
  const head = await sniff(input).catch((e: Error) => { throw explain(e, what); });
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const plain = gzip ? input.pipe(createGunzip()) : input.pipe(new PassThrough());
  const extract = tar.extract();
  const fail = (e: Error) => extract.destroy(e);
  let gzipError: Error | undefined;
  input.on('error', fail);
  plain.on('error', (e: Error) => {
    if (gzip) gzipError = e;
    fail(e);
  });
  plain.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const body = Readable.from(entry);
      await onEntry({ name: h.name.replace(/^(\.\/)+/, ''), type: h.type, size: h.size, linkname: h.linkname ?? '', body });
      // What the handler left of the body is skipped (and an error in it still surfaces).
      body.resume();
      await finished(body);
    }
  } catch (err) {
    input.unpipe();
    input.resume();
    // zlib's reason, unless it is the end coming too soon (explain says truncated).
    if (gzipError && err === gzipError && !/unexpected end of file/i.test(gzipError.message)) {
      throw new ArchiveError(`${what} is a corrupt gzip stream: ${gzipError.message}; nothing was loaded`);
    }
    throw explain(err as Error, what);
  }
}
