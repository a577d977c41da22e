import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Services } from '../engine/index.js';
import type { Sessions } from './sessions.js';

/** One request as a handler sees it. */
export interface Call {
  req: IncomingMessage;
  /** The HTTP response; for a hijacked (Upgrade: tcp) request, use `upgrade` instead. */
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  svc: Services;
  sessions: Sessions;
  /** The API version the client asked for in its path (`/v1.41/...`), or the server's. */
  version: string;
  /** Set when the client asked to take over the connection (attach, exec start). */
  upgrade?: Upgrade;
  /** Aborted when the client goes away: a follow or a wait ends with it. */
  signal: AbortSignal;
}

/** A connection the client hands over: its socket, the bytes after the request, the request's body. */
export interface Upgrade {
  socket: Duplex;
  head: Buffer;
  body: Buffer;
  /** Set once the 101 answer went out: from then on the socket carries raw streams. */
  started: boolean;
}

export type Handler = (c: Call) => Promise<void>;

interface Route {
  method: string;
  re: RegExp;
  names: string[];
  handler: Handler;
}

/**
 * Method + path pattern → handler. `{id}` is one path segment; `{name*}`
 * may span several (image names have slashes: /images/library/alpine/json).
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    const names: string[] = [];
    const re = pattern.replace(/[.]/g, '\\.').replace(/\{(\w+)(\*?)\}/g, (_m, name: string, many: string) => {
      names.push(name);
      return many ? '(.+?)' : '([^/]+)';
    });
    this.routes.push({ method, re: new RegExp(`^${re}$`), names, handler });
    return this;
  }

  /** The handler and path parameters; `allowed` lists the methods of a path that exists under another method (405). */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | { allowed: string[] } {
    const allowed: string[] = [];
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      // HEAD is answered by a GET's handler where there is no HEAD of its own (/_ping, archive).
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET' && !this.routes.some((o) => o.method === 'HEAD' && o.re.test(path)))) {
        allowed.push(r.method);
        continue;
      }
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]!); });
      return { handler: r.handler, params };
    }
    return { allowed };
  }
}

/** `/v1.41/containers/json` → version 1.41, path /containers/json. */
export function splitVersion(path: string): { version?: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  return m ? { version: m[1]!, path: m[2]! } : { path };
}
