import type { Readable } from 'node:stream';
import { EngineError } from '../../util/errors.js';
import { digestOf } from '../store.js';
import { basicHeader, fetchToken, parseChallenge, type Challenge } from './auth.js';
import { loadTlsFiles, type TlsFiles } from './certs.js';
import { lookupCredentials, type Credentials } from './credentials.js';
import type { Endpoint } from './registries-conf.js';
import { isPlainHttpServer, readBody, Transport, TransportError, type Response } from './transport.js';

/**
 * A client of one registry host (OCI distribution spec): ping, the 401
 * challenge flow, manifests, blobs, uploads. Knows nothing about the
 * store; src/engine/images/pull.ts and push.ts drive it.
 */

export interface ClientOptions {
  /** Skip TLS verification, and use plain HTTP when the host does not speak TLS. */
  insecure: boolean;
  certDir?: string;
  authfile?: string;
  /** Credentials given on the command line win over the auth files. */
  credentials?: Credentials;
  /** The registry's name for credentials and messages, when the API answers on another host (docker.io). */
  registry?: string;
}

export const MANIFEST_LIMIT = 4 << 20;
export const CONFIG_LIMIT = 8 << 20;

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A registry's answer that is an error of the distribution API ("manifest unknown", "unauthorized", ...). */
export class RegistryError extends EngineError {
  constructor(message: string, readonly status: number, readonly codes: string[]) {
    super(message);
  }
}

export class RegistryClient {
  private readonly transport: Transport;
  private base?: string;
  private challenge?: Challenge | null;
  private readonly tokens = new Map<string, string>();
  private readonly creds: Credentials | undefined;
  private readonly tls: TlsFiles;

  constructor(readonly host: string, private readonly opts: ClientOptions) {
    this.tls = loadTlsFiles(host, opts.certDir);
    this.transport = new Transport({ tlsVerify: !opts.insecure, tls: this.tls });
    this.creds = opts.credentials;
  }

  private credentialsFor(path?: string): Credentials | undefined {
    return this.creds ?? lookupCredentials(this.opts.registry ?? this.host, path, this.opts.authfile);
  }

  /** GET /v2/: picks the scheme (HTTPS, or HTTP for an insecure host that does not speak TLS) and learns the auth challenge. */
  async ping(): Promise<void> {
    if (this.base !== undefined) return;
    let res: Response;
    try {
      res = await this.transport.request(new URL(`https://${this.host}/v2/`));
      this.base = `https://${this.host}`;
    } catch (err) {
      if (!this.opts.insecure || !(isPlainHttpServer(err) || (err as TransportError).code === 'ECONNRESET')) {
        if (isPlainHttpServer(err)) throw new EngineError(`${this.host} does not speak TLS (it looks like plain HTTP): use --tls-verify=false, or mark it insecure in registries.conf`);
        throw err instanceof TransportError ? new EngineError(err.message) : err;
      }
      try {
        res = await this.transport.request(new URL(`http://${this.host}/v2/`));
      } catch (e) {
        throw e instanceof TransportError ? new EngineError(e.message) : e;
      }
      this.base = `http://${this.host}`;
    }
    res.body.resume();
    if (res.status === 401) {
      const header = res.headers['www-authenticate'];
      this.challenge = typeof header === 'string' ? parseChallenge(header) ?? null : null;
    } else if (res.status >= 200 && res.status < 300) {
      this.challenge = null;
    } else if (res.status === 404) {
      throw new EngineError(`${this.host} does not serve the registry API (GET /v2/ answered 404): is it a registry?`);
    } else {
      this.challenge = null;
    }
  }

  /** The Authorization header for `scopes`, fetching a token when the registry wants one. */
  private async authorize(scopes: string[], path: string | undefined, fresh = false): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    const creds = this.credentialsFor(path);
    if (c.scheme === 'basic') {
      if (!creds) throw new EngineError(`unauthorized: ${this.host} requires a login: run rootlet login ${this.opts.registry ?? this.host}`);
      return basicHeader(creds);
    }
    if (c.scheme !== 'bearer') throw new EngineError(`${this.host} asks for "${c.scheme}" authentication, which rootlet does not speak`);
    const key = scopes.join(' ');
    let token = fresh ? undefined : this.tokens.get(key);
    if (!token) {
      token = await fetchToken(this.transport, c, scopes, creds, this.opts.registry ?? this.host);
      this.tokens.set(key, token);
    }
    return `Bearer ${token}`;
  }

  /**
   * One API request, authorized for `scopes`. A 401 with a new challenge
   * (e.g. a scope the token lacks) is answered once; a streamed body cannot
   * be sent twice, so callers authorize first with a bodiless request.
   */
  async request(pathname: string, o: { method?: string; headers?: Record<string, string>; body?: Buffer | Readable; scopes: string[]; repo?: string; follow?: boolean }): Promise<Response> {
    await this.ping();
    const url = new URL(pathname, this.base);
    const send = async (fresh: boolean) => {
      const auth = await this.authorize(o.scopes, o.repo, fresh);
      try {
        return await this.transport.request(url, { method: o.method, headers: { ...o.headers, ...(auth ? { Authorization: auth } : {}) }, body: o.body, follow: o.follow });
      } catch (err) {
        throw err instanceof TransportError ? new EngineError(err.message) : err;
      }
    };
    let res = await send(false);
    if (res.status === 401 && (o.body === undefined || Buffer.isBuffer(o.body))) {
      res.body.resume();
      const header = res.headers['www-authenticate'];
      const next = typeof header === 'string' ? parseChallenge(header) : undefined;
      const hadAuth = this.challenge !== null && this.challenge !== undefined;
      if (next) this.challenge = next;
      if (next && (!hadAuth || next.scheme === 'bearer')) res = await send(true);
      else throw await this.unauthorized(res, o.repo);
    }
    if (res.status === 401) throw await this.unauthorized(res, o.repo);
    return res;
  }

  private async unauthorized(res: Response, repo?: string): Promise<EngineError> {
    const detail = await errorText(res);
    const creds = this.credentialsFor(repo);
    const who = creds ? `the credentials of "${creds.username}" were refused` : `authentication required: run rootlet login ${this.opts.registry ?? this.host}`;
    return new RegistryError(`unauthorized: ${this.host}${repo ? `/${repo}` : ''}: ${who}${detail ? ` (${detail})` : ''}`, 401, ['UNAUTHORIZED']);
  }

  /** Checks the credentials (login): the ping's challenge answered with them. */
  async checkLogin(): Promise<void> {
    await this.ping();
    if (!this.challenge) return;
    if (this.challenge.scheme === 'bearer') {
      await fetchToken(this.transport, this.challenge, [], this.credentialsFor(), this.opts.registry ?? this.host);
      return;
    }
    const res = await this.request('/v2/', { scopes: [] });
    res.body.resume();
    if (res.status !== 200) throw await this.unauthorized(res);
  }

  /** Fetches a manifest or index by tag or digest; the bytes are verified against a digest the reference or the registry names. */
  async getManifest(repo: string, reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT }, scopes: [pullScope(repo)], repo });
    if (res.status !== 200) throw await apiError(res, `${this.host}/${repo}:${reference}`.replace(/:sha256:/, '@sha256:'), 'manifest');
    const bytes = await readBody(res, MANIFEST_LIMIT, `the manifest of ${repo}:${reference}`);
    const digest = digestOf(bytes);
    const expected = reference.startsWith('sha256:') ? reference : headerDigest(res);
    if (expected && expected !== digest) {
      throw new EngineError(`the manifest ${this.host}/${repo}@${expected} from the registry hashes to ${digest}: the registry is corrupt or lying; nothing was stored`);
    }
    return { bytes, mediaType: String(res.headers['content-type'] ?? '').split(';')[0]!.trim(), digest };
  }

  /** A blob's body, as a stream; the caller verifies it. */
  async getBlob(repo: string, digest: string): Promise<Response> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { scopes: [pullScope(repo)], repo, follow: true });
    if (res.status !== 200) throw await apiError(res, `blob ${digest} of ${this.host}/${repo}`, 'blob');
    return res;
  }

  /**
   * What another process needs to GET a blob itself (the extraction helper,
   * which then reads the body straight from the socket): the URL, the
   * Authorization for it and this host's TLS settings. Nothing is fetched;
   * an answer other than 200 is for the caller to take up with getBlob,
   * which handles a stale token and words the registry's error.
   */
  async blobSource(repo: string, digest: string): Promise<BlobSource> {
    await this.ping();
    const auth = await this.authorize([pullScope(repo)], repo);
    return {
      url: new URL(`/v2/${repo}/blobs/${digest}`, this.base).href,
      headers: auth ? { Authorization: auth } : {},
      tlsVerify: !this.opts.insecure,
      tls: { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, from: [] },
    };
  }

  async hasBlob(repo: string, digest: string, scopes: string[]): Promise<boolean> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', scopes, repo, follow: true });
    res.body.resume();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await apiError(res, `blob ${digest} of ${this.host}/${repo}`, 'blob');
  }

  /** Asks for a cross-repository mount; returns true when the registry made it, else the upload URL it opened instead. */
  async startUpload(repo: string, digest: string, mountFrom?: string): Promise<true | URL> {
    const scopes = [pushScope(repo), ...(mountFrom ? [pullScope(mountFrom)] : [])];
    const q = mountFrom ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}` : '';
    const res = await this.request(`/v2/${repo}/blobs/uploads/${q}`, { method: 'POST', headers: { 'Content-Length': '0' }, body: Buffer.alloc(0), scopes, repo });
    res.body.resume();
    if (res.status === 201 && mountFrom) return true;
    if (res.status !== 202) throw await apiError(res, `an upload to ${this.host}/${repo}`, 'upload');
    const loc = res.headers.location;
    if (!loc) throw new EngineError(`${this.host} opened an upload without a Location: the registry is misconfigured`);
    return new URL(loc, this.base);
  }

  /** Sends a blob in one PUT (monolithic upload) to the URL startUpload opened. */
  async finishUpload(repo: string, at: URL, digest: string, size: number, body: Buffer | Readable): Promise<void> {
    at.searchParams.set('digest', digest);
    const res = await this.request(at.pathname + at.search, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body,
      scopes: [pushScope(repo)],
      repo,
    });
    res.body.resume();
    if (res.status !== 201) throw await apiError(res, `upload of ${digest} to ${this.host}/${repo}`, 'upload');
  }

  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      method: 'PUT', headers: { 'Content-Type': mediaType, 'Content-Length': String(bytes.length) }, body: bytes, scopes: [pushScope(repo)], repo,
    });
    res.body.resume();
    if (res.status !== 201 && res.status !== 200) throw await apiError(res, `manifest ${this.host}/${repo}:${reference}`, 'manifest');
  }

  async listTags(repo: string): Promise<string[]> {
    const res = await this.request(`/v2/${repo}/tags/list`, { scopes: [pullScope(repo)], repo });
    if (res.status !== 200) throw await apiError(res, `tags of ${this.host}/${repo}`, 'tags');
    const body = JSON.parse((await readBody(res, MANIFEST_LIMIT, 'the tag list')).toString('utf8')) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  /** GET /v2/_catalog: the registry's repository names (up to `n`), where it lists them (many public ones do not). */
  async catalog(n: number): Promise<string[]> {
    const res = await this.request(`/v2/_catalog?n=${n}`, { scopes: ['registry:catalog:*'] });
    if (res.status !== 200) throw await apiError(res, `the catalog of ${this.host}`, 'catalog');
    const body = JSON.parse((await readBody(res, MANIFEST_LIMIT, 'the catalog')).toString('utf8')) as { repositories?: string[] | null };
    return body.repositories ?? [];
  }

  close(): void {
    this.transport.close();
  }
}

/** A blob's GET as the helper makes it (RegistryClient.blobSource). */
export interface BlobSource {
  url: string;
  headers: Record<string, string>;
  tlsVerify: boolean;
  tls: TlsFiles;
}

/** How the user asked to reach registries: the flags pull, push and login share. */
export interface RegistryAccess {
  /** undefined: as registries.conf says; false: --tls-verify=false. */
  tlsVerify?: boolean;
  certDir?: string;
  authfile?: string;
  credentials?: Credentials;
}

/** A client for one endpoint of registries.conf, with the user's TLS and credential options. */
export function clientFor(ep: Endpoint, o: RegistryAccess): RegistryClient {
  return new RegistryClient(ep.host, { registry: ep.registry, insecure: ep.insecure, certDir: o.certDir, authfile: o.authfile, credentials: o.credentials });
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

function headerDigest(res: Response): string | undefined {
  const d = res.headers['docker-content-digest'];
  return typeof d === 'string' && d.startsWith('sha256:') ? d : undefined;
}

/** The registry's own error text ("manifest unknown: ..."), if it sent one. */
async function errorText(res: Response): Promise<string> {
  let body: Buffer;
  try {
    body = await readBody(res, 64 << 10, 'an error');
  } catch {
    return '';
  }
  try {
    const j = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    return (j.errors ?? []).map((e) => e.message || e.code || '').filter(Boolean).join('; ');
  } catch {
    return body.toString('utf8').trim().split('\n')[0]!.slice(0, 200);
  }
}

async function apiError(res: Response, what: string, kind: string): Promise<RegistryError> {
  const text = await errorText(res);
  const codes = text ? [text] : [];
  if (res.status === 404) return new RegistryError(`${what}: ${text || `${kind} unknown`} (not found)`, 404, codes);
  if (res.status === 403) return new RegistryError(`${what}: denied${text ? `: ${text}` : ''}`, 403, codes);
  return new RegistryError(`${what}: the registry answered ${res.status}${text ? `: ${text}` : ''}`, res.status, codes);
}
