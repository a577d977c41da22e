import type { ServerResponse } from 'node:http';
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { LoadedImage } from '../engine/index.js';
import { loadedLines } from '../docker/image.js';
import { ApiError, badRequest, boolParam } from './http.js';
import type { Call, Router } from './router.js';
import { apiContext, sink } from './streams.js';

/**
 * Images as archives over the socket: `docker save` (GET /images/get, a
 * docker-archive tar streamed as the engine writes it), `docker load` (POST
 * /images/load, the tar in the body) and `docker import` (POST
 * /images/create?fromSrc=-, a root file system tar in the body).
 */
export function archiveRoutes(r: Router): void {
  r.add('GET', '/images/get', async (c) => {
    const names = c.query.getAll('names').flatMap((n) => n.split(',')).filter(Boolean);
    if (!names.length) throw badRequest('names is required: the images to save');
    await save(c, names);
  });

  r.add('GET', '/images/{name*}/get', async (c) => {
    await save(c, [c.params.name!]);
  });

  r.add('POST', '/images/load', async (c) => {
    // Docker's quiet only drops the progress bars, which this server does not send: the lines below come either way.
    boolParam(c.query, 'quiet');
    const warnings: string[] = [];
    let images: LoadedImage[];
    const body = detached(c.req);
    try {
      images = await c.svc.images.load(body, { what: 'the request body' }, { warn: (l) => warnings.push(l) });
    } catch (err) {
      await drained(c.req, body);
      throw err;
    }
    const lines = [...warnings, ...loadedLines(images)];
    sendLines(c.res, lines.map((l) => ({ stream: `${l}\n` })));
  });
}

/**
 * `/images/create?fromSrc=-`: the body is the tarball; Docker answers with
 * a JSON line whose status is the new image's id. Only the body is a
 * source here: a URL would be fetched by the server, which has no network
 * of its own to fetch it with (docs/api.md).
 */
export async function importFromBody(c: Call, fromSrc: string): Promise<void> {
  if (fromSrc !== '-') {
    throw new ApiError(501, `importing from a URL (fromSrc=${fromSrc}) is not supported: this server fetches nothing from the network; download the tarball and import it from a file or standard input`);
  }
  const repo = c.query.get('repo') || undefined;
  const tag = c.query.get('tag') || undefined;
  if (tag && !repo) throw badRequest('tag given without repo');
  const reference = repo && tag ? `${repo}:${tag}` : repo;
  const message = c.query.get('message') || undefined;
  // Docker's clients send each instruction as its own changes= value.
  const changes = c.query.getAll('changes').filter(Boolean);
  const warnings: string[] = [];
  let id: string;
  const body = detached(c.req);
  try {
    const ctx = apiContext({ stdin: body, stdout: sink(), stderr: sink() }, c.signal, (l) => warnings.push(l));
    ({ id } = await c.svc.images.import('-', { ...(reference ? { reference } : {}), changes, ...(message ? { message } : {}) }, ctx));
  } catch (err) {
    await drained(c.req, body);
    throw err;
  }
  sendLines(c.res, [...warnings.map((w) => ({ status: w })), { status: id }]);
}

/** A 200 with Docker's JSON lines. */
function sendLines(res: ServerResponse, lines: Array<Record<string, unknown>>): void {
  const text = lines.map((l) => JSON.stringify(l) + '\n').join('');
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The request's body as a stream of its own for the engine: an engine that
 * gives up on its input destroys it, which for the request itself would
 * close the connection before the error could be answered.
 */
function detached(req: Readable): PassThrough {
  const body = new PassThrough();
  req.pipe(body);
  return body;
}

/**
 * The rest of a body the engine stopped reading (a bad archive): read and
 * dropped, so the client, still sending, gets the error answer rather than
 * a broken connection.
 */
function drained(body: Readable, copy: PassThrough): Promise<void> {
  body.unpipe(copy);
  copy.destroy();
  if (body.readableEnded || body.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    body.once('end', resolve);
    body.once('close', resolve);
    body.once('error', () => resolve());
    body.resume();
  });
}

/**
 * The tar goes out as the engine writes it. The 200 is sent with the first
 * bytes, so a name that does not exist is still a 404 with its message; a
 * failure after that can only cut the stream, which the client reports.
 */
async function save(c: Call, names: string[]): Promise<void> {
  const res = c.res;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      if (res.destroyed) return cb(new Error('the client went away'));
      if (res.write(chunk)) return cb();
      // Until the client takes more, or goes away (then no drain comes, and the save must end).
      const drained = () => { res.off('close', gone); cb(); };
      const gone = () => { res.off('drain', drained); cb(new Error('the client went away')); };
      res.once('drain', drained);
      res.once('close', gone);
    },
  });
  try {
    await c.svc.images.save(names, { format: 'docker-archive' }, out);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    throw err;
  }
  if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  res.end();
}

