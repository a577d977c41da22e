import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeniedError, EngineError, errorMessage } from '../util/errors.js';

/**
 * The API's plumbing: request bodies read with a size limit, JSON answers,
 * and Docker's status codes for the engine's errors. A handler throws; the
 * server turns what it threw into `{"message": ...}` with the status here.
 */

/** An answer with Docker's status code (400 bad parameter, 404 no such object, 409 conflict, 403 denied). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Bodies beyond this are refused (413): a create or exec document is a few KiB; archives and build contexts are streamed, not read here. */
export const JSON_BODY_LIMIT = 4 << 20;

export function badRequest(message: string): ApiError {
  return new ApiError(400, message);
}

/**
 * The status Docker gives an error of this kind. The engine's errors carry
 * Docker's CLI exit codes and one-line messages, not HTTP statuses: a
 * refusal of the admin policy is 403 (an authorization error, which clients
 * print with its message), "No such ..." is 404, a state that forbids the
 * operation (in use, running, already exists) is 409, another refusal of
 * the request's values is 400; anything else is the engine failing, 500.
 */
export function statusOf(err: unknown): number {
  if (err instanceof ApiError) return err.status;
  const status = (err as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && status >= 400 && status < 600) return status;
  if (err instanceof DeniedError) return 403;
  const msg = errorMessage(err);
  if (/^Unable to find image|^no such |: no such (container|image|network|volume|object)|^No such |not found|does not exist|unknown (container|image|network|volume)/i.test(msg)) return 404;
  if (/already (in use|exists)|is (running|paused|not running|in use|being used|restarting)|conflict|cannot remove .*running|is already|in use by/i.test(msg)) return 409;
  if (err instanceof EngineError) return err.exitCode === 125 ? 400 : 500;
  return 500;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  if (res.headersSent) {
    // A stream already begun: the error goes in-band, as Docker's JSON progress streams carry it.
    if (!res.writableEnded) res.end(text + '\n');
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const status = statusOf(err);
  // Docker's clients print the message as it is; the engine's lines are already meant for users.
  const message = errorMessage(err).replace(/\n[\s\S]*$/, '');
  if (res.headersSent) {
    if (!res.writableEnded) res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
    return;
  }
  sendJson(res, status, { message });
}

export function noContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

/** The whole body, refused past `limit` bytes (413) without reading the rest into memory. */
export function readBody(req: IncomingMessage, limit = JSON_BODY_LIMIT): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new ApiError(413, `request body too large: ${declared} bytes, the limit is ${limit}`));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(new ApiError(413, `request body too large: more than ${limit} bytes`));
        return;
      }
      parts.push(d);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** The body as a JSON object; an empty body is `{}` (clients send none for most POSTs). */
export async function readJson(req: IncomingMessage, preread?: Buffer): Promise<Record<string, unknown>> {
  // A hijacked request's body was read off its socket already.
  const body = preread ?? await readBody(req);
  return parseJsonObject(body);
}

export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8').trim();
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`invalid JSON in the request body: ${errorMessage(err)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest('the request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Query values as Docker reads them: "1", "true" and "True" are true. */
export function boolParam(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)} (a boolean: 1, true, 0 or false)`);
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)} (an integer)`);
  return Number(v);
}

/**
 * Docker's `filters` query parameter: JSON, `{"label": ["a=b"]}` or the old
 * `{"label": {"a=b": true}}`; returned as the CLI's `KEY=VALUE` strings,
 * which the engine's filters take.
 */
export function filtersParam(q: URLSearchParams): string[] {
  const raw = q.get('filters');
  if (!raw) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw badRequest(`invalid filters: ${raw}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw badRequest(`invalid filters: ${raw}`);
  const out: string[] = [];
  for (const [key, vals] of Object.entries(doc as Record<string, unknown>)) {
    if (Array.isArray(vals)) for (const v of vals) out.push(`${key}=${String(v)}`);
    else if (vals && typeof vals === 'object') for (const [v, on] of Object.entries(vals)) { if (on) out.push(`${key}=${v}`); }
    else throw badRequest(`invalid filters: ${key} must be a list`);
  }
  return out;
}
