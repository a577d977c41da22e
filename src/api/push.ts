import type { PushEvent } from '../engine/index.js';
import { badRequest } from './http.js';
import type { Router } from './router.js';

/**
 * `docker push`: POST /images/{name}/push?tag=, the credentials in the
 * X-Registry-Auth header, Docker's JSON progress lines, then the `aux` line
 * with the tag, digest and size the client prints.
 */
export function pushRoutes(r: Router): void {
  r.add('POST', '/images/{name*}/push', async (c) => {
    const name = c.params.name!;
    const tag = c.query.get('tag') || undefined;
    if (tag && !/^[\w][\w.-]{0,127}$/.test(tag)) throw badRequest(`invalid tag ${JSON.stringify(tag)}`);
    const credentials = registryAuth(headerValue(c.req.headers['x-registry-auth']));
    const res = c.res;
    // The answer begins with the first event: a refusal before (no such image, policy) keeps its own status.
    const line = (doc: Record<string, unknown>) => {
      if (!res.headersSent) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
      }
      if (!res.writableEnded) res.write(JSON.stringify(doc) + '\n');
    };
    const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);
    const onEvent = (e: PushEvent) => {
      if (e.type === 'start') line({ status: `The push refers to repository [${e.host}/${e.path}]` });
      if (e.type === 'blob') {
        const status = e.state === 'exists' ? 'Layer already exists' : e.state === 'mounted' ? `Mounted from ${e.from ?? ''}` : 'Pushed';
        line({ status, progressDetail: {}, id: short(e.digest) });
      }
      if (e.type === 'progress') line({ status: 'Pushing', progressDetail: { current: e.bytes, total: e.total }, id: short(e.digest) });
    };
    // An error once the stream has begun goes in-band (sendError), where Docker's clients look for it.
    const result = await c.svc.images.push(tag ? `${name}:${tag}` : name, undefined, credentials ? { credentials } : {}, onEvent);
    const pushedTag = result.name.slice(result.name.lastIndexOf(':') + 1);
    line({ status: `${pushedTag}: digest: ${result.digest} size: ${result.size}` });
    line({ progressDetail: {}, aux: { Tag: pushedTag, Digest: result.digest, Size: result.size } });
    res.end();
  });
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Docker's X-Registry-Auth: base64 (URL-safe or not) of a JSON object with
 * username and password (or `auth`, base64 of user:password). Absent or
 * `{}`: none, the engine's own (`rootlet login`, the auth files). An
 * identity token cannot be used by this engine's registry client: refused,
 * not ignored, since the push would then go out without it.
 */
export function registryAuth(header: string | undefined): { username: string; password: string } | undefined {
  if (!header || !header.trim()) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(header.trim(), 'base64').toString('utf8'));
  } catch {
    throw badRequest('invalid X-Registry-Auth header: base64-encoded JSON expected');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw badRequest('invalid X-Registry-Auth header: a JSON object expected');
  const a = doc as Record<string, unknown>;
  const str = (k: string) => (typeof a[k] === 'string' ? a[k] as string : '');
  if (str('identitytoken') || str('registrytoken')) throw badRequest('X-Registry-Auth: identity and registry tokens are not supported; log in with a user name and password (rootlet login)');
  let username = str('username');
  let password = str('password');
  if (!username && str('auth')) {
    const plain = Buffer.from(str('auth'), 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i < 0) throw badRequest('invalid X-Registry-Auth header: auth is not base64 of user:password');
    username = plain.slice(0, i);
    password = plain.slice(i + 1);
  }
  if (!username && !password) return undefined;
  if (!username || !password) throw badRequest('invalid X-Registry-Auth header: a user name needs a password, and a password a user name');
  return { username, password };
}
