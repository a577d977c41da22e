import { type Readable, Transform } from 'node:stream';
import type { BlobSource } from './client.js';
import { Transport, TransportError } from './transport.js';

/**
 * The extraction helper's side of a pull (`__fetch-layer`): it GETs the
 * blob itself with what RegistryClient.blobSource handed it, so the body
 * goes from the socket straight into extraction instead of through the CLI
 * process and a pipe. The same checks as the CLI's own download: the
 * announced length, and never more bytes than the manifest says.
 */

export interface BlobFetchSpec extends BlobSource {
  /** The digest and size the manifest announces. */
  digest: string;
  size: number;
}

/** The registry answered something other than 200: the CLI asks again itself (a stale token, the registry's own words). */
export class BlobStatusError extends Error {
  constructor(readonly status: number) {
    super(`the registry answered ${status}`);
  }
}

export interface OpenedBlob {
  body: Readable;
  /** Why the body stopped early (a connection cut, too many bytes), once it has. */
  failure(): Error | undefined;
  close(): void;
}

export async function openBlob(spec: BlobFetchSpec, onBytes: (total: number) => void): Promise<OpenedBlob> {
  const transport = new Transport({ tlsVerify: spec.tlsVerify, tls: spec.tls });
  let res;
  try {
    res = await transport.request(new URL(spec.url), { headers: spec.headers, follow: true });
  } catch (err) {
    transport.close();
    throw new Error(err instanceof TransportError ? err.message : (err as Error).message);
  }
  if (res.status !== 200) {
    res.body.resume();
    transport.close();
    throw new BlobStatusError(res.status);
  }
  const declared = res.headers['content-length'];
  if (declared !== undefined && Number.isFinite(Number(declared)) && Number(declared) !== spec.size) {
    res.body.destroy();
    transport.close();
    throw new Error(`layer ${spec.digest}: the registry sends ${declared} bytes where the manifest announces ${spec.size}: nothing was stored`);
  }
  let failure: Error | undefined;
  let bytes = 0;
  // Counted on the way through (not with a 'data' listener, which would see bytes the extractor peeks at and puts back twice).
  const counted = new Transform({
    highWaterMark: 1 << 18,
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > spec.size) return cb(new Error(`layer ${spec.digest}: the registry sent more than the ${spec.size} bytes the manifest announces`));
      onBytes(bytes);
      cb(null, chunk);
    },
  });
  const stop = (e: Error) => {
    failure ??= e;
    counted.destroy(e);
  };
  counted.once('error', (e) => { failure ??= e; res.body.destroy(); });
  res.body.once('error', stop);
  // A body cut short (the connection closed before its length was sent) is refused, never taken as its end.
  res.body.once('aborted', () => stop(new Error('aborted')));
  res.body.pipe(counted);
  return { body: counted, failure: () => failure, close: () => { res.body.destroy(); transport.close(); } };
}
