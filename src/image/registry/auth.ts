import { EngineError } from '../../util/errors.js';
import type { Credentials } from './credentials.js';
import { readBody, type Transport } from './transport.js';

/**
 * The distribution spec's authentication: a 401 carries a
 * `WWW-Authenticate` challenge, either Basic (send the credentials) or
 * Bearer (ask the named realm for a token for a scope, with the
 * credentials if any, then send the token). Tokens are kept per scope.
 */

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (quoted strings may hold commas). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null) {
    if (p[0] === '') break;
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** Asks a token server for a token covering `scopes`; the error says "unauthorized" when it refuses. */
export async function fetchToken(transport: Transport, challenge: Challenge, scopes: string[], creds: Credentials | undefined, host: string): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) throw new EngineError(`${host} asks for a bearer token but names no realm: the registry is misconfigured`);
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new EngineError(`${host} names a token realm "${realm}" that is not a URL`);
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  if (creds) url.searchParams.set('account', creds.username);
  const headers: Record<string, string> = {};
  if (creds) headers.Authorization = basicHeader(creds);
  const res = await transport.request(url, { headers, follow: true });
  const body = await readBody(res, 1 << 20, `the token from ${url.host}`);
  if (res.status === 401 || res.status === 403) {
    throw new EngineError(`unauthorized: ${host} refused ${creds ? `the credentials of "${creds.username}"` : 'anonymous access'}${creds ? '' : ': log in first (rootlet login ' + host + ')'}`);
  }
  if (res.status !== 200) throw new EngineError(`token server ${url.host} answered ${res.status}: ${body.toString('utf8').slice(0, 200).trim()}`);
  let parsed: { token?: string; access_token?: string };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    throw new EngineError(`token server ${url.host} answered something that is not JSON`);
  }
  const token = parsed.token ?? parsed.access_token;
  if (!token) throw new EngineError(`token server ${url.host} answered without a token`);
  return token;
}
