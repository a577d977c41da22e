import * as http from 'node:http';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { EngineError } from '../../util/errors.js';
import type { TlsFiles } from './certs.js';

/**
 * HTTP(S) to one registry host with node's own http/https: keep-alive
 * agents, a connect timeout (an unreachable registry fails in seconds, not
 * minutes), an idle timeout, redirects (blob storage), and the TLS
 * settings of that host (its CA and client certificate, or no
 * verification when the user asked for that).
 */

export interface TransportOptions {
  /** Verify the server's certificate (default). False also allows falling back to plain HTTP. */
  tlsVerify: boolean;
  tls: TlsFiles;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  url: URL;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Follow redirects (GET/HEAD only). */
  follow?: boolean;
}

const DEFAULT_CONNECT_TIMEOUT = Number(process.env.ROOTLET_CONNECT_TIMEOUT_MS) || 10_000;
const DEFAULT_IDLE_TIMEOUT = 60_000;

/** A network failure, already phrased for the user ("connection refused", "no such host"). */
export class TransportError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

export function describeNetworkError(err: NodeJS.ErrnoException, host: string): string {
  switch (err.code) {
    case 'ENOTFOUND': return `cannot resolve ${host}: no such host (no DNS answer; is the name right and the network up?)`;
    case 'EAI_AGAIN': return `cannot resolve ${host}: DNS lookup failed (temporary failure; no network?)`;
    case 'ECONNREFUSED': return `cannot connect to ${host}: connection refused (is a registry listening there?)`;
    case 'ETIMEDOUT': return `cannot connect to ${host}: ${err.message}`;
    case 'ENETUNREACH': return `cannot connect to ${host}: network is unreachable`;
    case 'EHOSTUNREACH': return `cannot connect to ${host}: no route to host`;
    case 'ECONNRESET': return `connection to ${host} was reset`;
    case 'EIDLE': return `${host} stopped answering: ${err.message}`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS certificate of ${host} is not trusted (${err.message}): put its CA in /etc/containers/certs.d/${host}/ca.crt or ~/.config/containers/certs.d/${host}/, give --cert-dir, or use --tls-verify=false`;
    default: return `cannot talk to ${host}: ${err.message}`;
  }
}

/** True for the TLS handshake failing because the server speaks plain HTTP. */
export function isPlainHttpServer(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return e.code === 'EPROTO' || e.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(e.message ?? '');
}

export class Transport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly httpsAgent: https.Agent;

  constructor(private readonly opts: TransportOptions) {
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 8,
      rejectUnauthorized: opts.tlsVerify,
      // Not verifying, nothing needs trusting: an empty list spares loading node's root store (~30 ms here), which
      // an insecure registry's first request pays even when it speaks plain HTTP (the HTTPS attempt comes first).
      ca: opts.tlsVerify ? trustedCAs(opts.tls.ca) : [],
      cert: opts.tls.cert,
      key: opts.tls.key,
    });
  }

  async request(url: URL, o: RequestOptions = {}, redirects = 0): Promise<Response> {
    const res = await this.once(url, o);
    if (o.follow && [301, 302, 303, 307, 308].includes(res.status) && res.headers.location) {
      res.body.resume();
      if (redirects >= 5) throw new EngineError(`too many redirects from ${url.host}`);
      const next = new URL(res.headers.location, url);
      // Credentials for the registry are not for the storage it redirects to.
      const headers = { ...o.headers };
      if (next.host !== url.host) delete headers.Authorization;
      return this.request(next, { ...o, headers }, redirects + 1);
    }
    return res;
  }

  private once(url: URL, o: RequestOptions): Promise<Response> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, {
        method: o.method ?? 'GET',
        headers: { 'User-Agent': 'rootlet', ...o.headers },
        agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
      });
      let connectTimer: NodeJS.Timeout | undefined;
      req.on('socket', (sock) => {
        if (!sock.connecting) return;
        const ms = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT;
        connectTimer = setTimeout(() => {
          const resolving = sock.remoteAddress === undefined;
          const e = new Error(resolving ? `no DNS answer within ${ms / 1000} s` : `no answer within ${ms / 1000} s (connect timeout)`) as NodeJS.ErrnoException;
          e.code = 'ETIMEDOUT';
          req.destroy(e);
          // A getaddrinfo in libuv's thread pool cannot be cancelled and keeps
          // node alive until the resolver gives up (tens of seconds): once the
          // error is reported, do not wait for it.
          if (resolving) setTimeout(() => process.exit(), 2000).unref();
        }, ms);
        sock.once('connect', () => clearTimeout(connectTimer));
      });
      req.setTimeout(this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT, () => {
        const e = new Error(`no data for ${(this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT) / 1000} s`) as NodeJS.ErrnoException;
        e.code = 'EIDLE';
        req.destroy(e);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        reject(isPlainHttpServer(err) ? err : new TransportError(describeNetworkError(err, url.host), err.code));
      });
      req.on('response', (res) => {
        clearTimeout(connectTimer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      if (o.body === undefined) req.end();
      else if (Buffer.isBuffer(o.body)) req.end(o.body);
      else {
        o.body.on('error', (e) => req.destroy(e));
        o.body.pipe(req);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Reads a whole body, refusing more than `limit` bytes (a registry must not fill our memory). */
export async function readBody(res: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (declared > limit) {
    res.body.destroy();
    throw new EngineError(`${what} is ${declared} bytes, over the ${limit}-byte limit: refusing it`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new EngineError(`${what} is over the ${limit}-byte limit: refusing it`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/**
 * Node replaces its CA list when `ca` is given: keep the system's, and the
 * bundle the installed wrapper hands over as ROOTLET_EXTRA_CA_CERTS (node
 * would read NODE_EXTRA_CA_CERTS at every start; rootlet needs it only here).
 */
function trustedCAs(own: string[]): string[] | undefined {
  const extra = bundle(process.env.ROOTLET_EXTRA_CA_CERTS);
  if (!own.length && !extra.length) return undefined;
  return [...rootCertificates, ...extra, ...own];
}

/** A PEM bundle named by an environment variable: none when unset or unreadable (node skips a missing NODE_EXTRA_CA_CERTS too). */
function bundle(file: string | undefined): string[] {
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch {
    return [];
  }
}

/**
 * The certificates an HTTPS request of the Transport trusts, as PEM texts:
 * the list it hands node, or else node's default (its bundled roots and
 * NODE_EXTRA_CA_CERTS). rootlet-layer-fetch is handed exactly this, so
 * that it trusts what the CLI trusts.
 */
export function trustedCertificates(own: string[]): string[] {
  return trustedCAs(own) ?? [...rootCertificates, ...bundle(process.env.NODE_EXTRA_CA_CERTS)];
}
