import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { dirname } from 'node:path';
import type { Services } from '../engine/index.js';
import { EngineError, errorMessage } from '../util/errors.js';
import { containerRoutes } from './containers.js';
import { ApiError, sendError, sendJson } from './http.js';
import { imageRoutes } from './images.js';
import { buildRoutes } from './build.js';
import { networkRoutes } from './networks.js';
import { Router, splitVersion } from './router.js';
import { Sessions } from './sessions.js';
import type { Upgrade } from './router.js';
import { MIN_API_VERSION, systemRoutes } from './system.js';

/**
 * The Docker Engine API server: node's http on a unix socket only its user
 * can open (or loopback TCP), each request routed to a handler that calls
 * the engine's services. It exits after `idleMs` with no connection open,
 * so nothing runs while nobody uses it.
 */

/** A socket to bind, or (fd) one that is already listening: systemd's, passed by socket activation. */
export type Listen = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number } | { kind: 'fd'; fd: number };

export interface ServeOptions {
  listen: Listen;
  /** 0: never. */
  idleMs: number;
  apiVersion: string;
  serverVersion: string;
  log?: (line: string) => void;
}

export function apiRouter(): Router {
  const r = new Router();
  systemRoutes(r);
  containerRoutes(r);
  imageRoutes(r);
  networkRoutes(r);
  buildRoutes(r);
  return r;
}

/** Parses `unix:///path`, `unix:/path`, `tcp://host:port`. */
export function parseListen(uri: string): Listen {
  const unix = /^unix:(?:\/\/)?(\/.+)$/.exec(uri);
  if (unix) return { kind: 'unix', path: unix[1]! };
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(uri);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw new EngineError(`invalid address ${uri}: port ${port} is out of range`);
    return { kind: 'tcp', host: tcp[1]!.replace(/^\[|\]$/g, ''), port };
  }
  throw new EngineError(`invalid address ${uri}: use unix:///PATH or tcp://127.0.0.1:PORT`);
}

/** A socket file another server still answers on is refused; a stale one (no listener) is removed. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new EngineError(`${path} exists and is not a socket: remove it or choose another path`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new EngineError(`${path}: another API service is already listening there`);
  rmSync(path, { force: true });
}

export async function serve(svc: Services, o: ServeOptions): Promise<{ server: Server; closed: Promise<void>; shutdown: () => void }> {
  const router = apiRouter();
  const sessions = new Sessions();
  const log = o.log ?? (() => {});
  const headers = {
    'Api-Version': o.apiVersion,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `rootlet/${o.serverVersion} (linux)`,
  };

  async function handle(req: IncomingMessage, res: ServerResponse, upgrade?: Upgrade): Promise<void> {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { version, path } = splitVersion(url.pathname);
    const controller = new AbortController();
    // The client went away: follows, waits and attaches end with it.
    const onGone = () => controller.abort();
    (upgrade?.socket ?? res).once('close', onGone);
    try {
      if (version && compareVersions(version, MIN_API_VERSION) < 0) {
        throw new ApiError(400, `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      if (version && compareVersions(version, o.apiVersion) > 0) {
        throw new ApiError(400, `client version ${version} is too new. Maximum supported API version is ${o.apiVersion}`);
      }
      const m = router.match(req.method ?? 'GET', path);
      if ('allowed' in m) {
        if (m.allowed.length) throw new ApiError(405, `method ${req.method} is not allowed on ${path} (use ${[...new Set(m.allowed)].join(', ')})`);
        throw new ApiError(404, `page not found: ${req.method} ${path} is not an endpoint of this server`);
      }
      await m.handler({ req, res, params: m.params, query: url.searchParams, svc, sessions, version: version ?? o.apiVersion, signal: controller.signal, ...(upgrade ? { upgrade } : {}) });
    } catch (err) {
      if (!(err instanceof ApiError) && !(err instanceof EngineError)) log(`${req.method} ${url.pathname}: ${err instanceof Error && err.stack ? err.stack : errorMessage(err)}`);
      if (upgrade && upgrade.started) {
        upgrade.socket.destroy();
      } else if (upgrade) {
        // A hijack refused before it began: an ordinary HTTP answer on the raw socket.
        const body = JSON.stringify({ message: errorMessage(err) });
        upgrade.socket.end(`HTTP/1.1 ${statusLine(err)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      } else {
        sendError(res, err);
      }
    } finally {
      (upgrade?.socket ?? res).off('close', onGone);
    }
  }

  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => { void handle(req, res); });
  // Docker's clients ask to take the connection over for attach and exec (Connection: Upgrade, Upgrade: tcp).
  // Connections taken over from HTTP: the server no longer tracks them, so a shutdown ends them itself.
  const hijacked = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    hijacked.add(socket);
    socket.once('close', () => hijacked.delete(socket));
    void (async () => {
      // The body (exec start's {"Detach":false,"Tty":...}) follows the headers on the socket.
      const length = Number(req.headers['content-length'] ?? 0);
      let body = head;
      if (length > 0) {
        if (length > 1 << 20) { socket.destroy(); return; }
        body = await readExact(socket, head, length);
      }
      const rest = body.subarray(Math.max(0, length));
      // Not attached to the socket: a hijacked request answers on the socket itself (streams.openRaw, or the error path).
      const res = new ServerResponse(req);
      await handle(req, res, { socket, head: rest, body: body.subarray(0, length), started: false });
    })().catch((err: unknown) => { log(`upgrade: ${errorMessage(err)}`); socket.destroy(); });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable) {
      const body = JSON.stringify({ message: `bad request: ${err.code === 'HPE_HEADER_OVERFLOW' ? 'headers too large' : err.message}` });
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    } else {
      socket.destroy();
    }
  });

  // Idle: no connection open for idleMs.
  let open = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const armIdle = () => {
    if (o.idleMs <= 0 || open > 0) return;
    idleTimer = setTimeout(() => {
      log('idle: no client for a while, exiting');
      server.close();
    }, o.idleMs);
  };
  server.on('connection', (s) => {
    open++;
    if (idleTimer) clearTimeout(idleTimer);
    s.once('close', () => { open--; armIdle(); });
  });

  if (o.listen.kind === 'fd') {
    // systemd made the socket (its path, its modes) and keeps it: nothing is bound here, nothing removed at the end.
    const { fd } = o.listen;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new EngineError(`cannot serve the socket systemd passed (fd ${fd}): ${e.message}`)));
      server.listen({ fd }, () => resolve());
    });
  } else if (o.listen.kind === 'unix') {
    const path = o.listen.path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await clearStaleSocket(path);
    // The socket is made 0600 from the start (umask), not chmod-ed after others could connect.
    const mask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => { server.off('error', reject); resolve(); }); });
    } finally {
      process.umask(mask);
    }
    chmodSync(path, 0o600);
    server.once('close', () => rmSync(path, { force: true }));
  } else {
    const { host, port } = o.listen;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new EngineError(`cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`)));
      server.listen(port, host, () => resolve());
    });
  }
  armIdle();
  // Told to stop (SIGTERM): a follow or an attach still open must not keep it from closing.
  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    for (const s of hijacked) s.destroy();
  };
  return { server, closed, shutdown };
}

function statusLine(err: unknown): string {
  const status = err instanceof ApiError ? err.status : 500;
  const reason: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error' };
  return `${status} ${reason[status] ?? 'Error'}`;
}

function readExact(socket: Duplex, head: Buffer, length: number): Promise<Buffer> {
  if (head.length >= length) return Promise.resolve(head);
  return new Promise((resolve, reject) => {
    let buf = head;
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= length) {
        socket.off('data', onData);
        socket.pause();
        resolve(buf);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return (a1! - b1!) || (a2! - b2!);
}

export { sendJson };
