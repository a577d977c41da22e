import { dockerMessage, type EventFilters } from '../engine/index.js';
import { dockerInfo, dockerVersion } from '../docker/system.js';
import { badRequest, filtersParam, readJson, sendJson } from './http.js';
import type { Router } from './router.js';

/**
 * The API versions served. Docker's clients ask for theirs and negotiate
 * down to the server's `Api-Version`; 1.43 is the behaviour the engine
 * follows (VersionInfo.apiVersion), 1.24 the oldest Docker still serves.
 */
export const MIN_API_VERSION = '1.24';

export function systemRoutes(r: Router): void {
  const ping = async (c: Parameters<Parameters<Router['add']>[2]>[0]) => {
    c.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' });
    c.res.end(c.req.method === 'HEAD' ? undefined : 'OK');
  };
  r.add('GET', '/_ping', ping);
  r.add('HEAD', '/_ping', ping);

  r.add('GET', '/version', async (c) => {
    const v = await c.svc.system.version();
    const server = dockerVersion(v).Server;
    // Go's names for the machine (amd64, arm64), which Docker's clients print and match platforms with.
    const arch = ({ x64: 'amd64', ia32: '386' } as Record<string, string>)[v.arch] ?? v.arch;
    const engine = {
      Name: 'Engine',
      Version: v.version,
      Details: { ApiVersion: v.apiVersion, MinAPIVersion: MIN_API_VERSION, Arch: arch, Os: v.os, KernelVersion: v.kernel, GitCommit: '', GoVersion: `node ${v.nodeVersion}`, BuildTime: '', Experimental: 'false' },
    };
    const components = [engine, ...(server.Components as unknown[]).slice(1)];
    sendJson(c.res, 200, { ...server, Components: components, Arch: arch, MinAPIVersion: MIN_API_VERSION, GitCommit: '', BuildTime: '' });
  });

  r.add('GET', '/info', async (c) => {
    const info = dockerInfo(await c.svc.system.info());
    sendJson(c.res, 200, info);
  });

  r.add('GET', '/system/df', async (c) => {
    sendJson(c.res, 200, await c.svc.system.df());
  });

  // Credentials are checked by the registry when they are used; a client's login is accepted here as Podman's service does when it cannot check.
  r.add('POST', '/auth', async (c) => {
    const body = await readJson(c.req);
    if (typeof body.username !== 'string' && typeof body.identitytoken !== 'string') throw badRequest('auth: username and password, or an identity token, are required');
    sendJson(c.res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
  });

  r.add('GET', '/events', async (c) => {
    const filters: EventFilters = {};
    for (const f of filtersParam(c.query)) {
      const i = f.indexOf('=');
      (filters[f.slice(0, i)] ??= []).push(f.slice(i + 1));
    }
    const since = time(c.query.get('since'));
    const until = time(c.query.get('until'));
    const query = { filters, ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
    // Checked before the answer begins, so a bad filter is a 400, not a broken stream.
    await c.svc.events.list({ ...query, since: Date.now() + 60_000, until: Date.now() + 60_000 });
    c.res.writeHead(200, { 'Content-Type': 'application/json' });
    c.res.flushHeaders();
    for await (const ev of c.svc.events.follow(query, { signal: c.signal })) {
      c.res.write(JSON.stringify(dockerMessage(ev)) + '\n');
    }
    if (!c.res.writableEnded) c.res.end();
  });
}

/** since/until: Unix seconds (with a fraction) → ms. */
function time(v: string | null): number | undefined {
  if (!v) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw badRequest(`invalid time ${JSON.stringify(v)}: Unix seconds expected`);
  return Math.round(Number(v) * 1000);
}
