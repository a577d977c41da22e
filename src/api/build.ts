import { Writable } from 'node:stream';
import { familiarName, type BuildEvent } from '../engine/index.js';
import { errorMessage } from '../util/errors.js';
import { badRequest, boolParam, filtersParam, intParam, sendJson } from './http.js';
import type { Router } from './router.js';
import { apiContext } from './streams.js';

/**
 * POST /build: the request's body is the context as a tar archive, which
 * the engine's build unpacks as it does `rootlet build -`; the output goes
 * back as Docker's legacy builder sends it, JSON lines `{"stream": ...}`,
 * the image id in an `aux` line, an error in-band.
 */
export function buildRoutes(r: Router): void {
  // `docker builder prune`: the whole build cache; what it cannot narrow (filters, a size to keep) is refused, not ignored.
  r.add('POST', '/build/prune', async (c) => {
    const filters = filtersParam(c.query);
    if (filters.length) throw badRequest(`build cache prune filters are not supported: ${filters.join(', ')}; the whole cache is removed`);
    for (const k of ['keep-storage', 'reserved-space', 'max-used-space', 'min-free-space']) {
      if (intParam(c.query, k)) throw badRequest(`${k} is not supported by build cache prune: the whole cache is removed`);
    }
    boolParam(c.query, 'all');
    const p = await c.svc.build.prune();
    sendJson(c.res, 200, { CachesDeleted: p!.images.length ? p!.images : null, SpaceReclaimed: p!.reclaimed });
  });

  r.add('POST', '/build', async (c) => {
    const q = c.query;
    const json = (name: string): Record<string, string> | undefined => {
      const v = q.get(name);
      if (!v) return undefined;
      let doc: unknown;
      try { doc = JSON.parse(v); } catch { throw badRequest(`invalid ${name}: JSON expected`); }
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw badRequest(`invalid ${name}: a JSON object expected`);
      return Object.fromEntries(Object.entries(doc).filter(([, x]) => x !== null).map(([k, x]) => [k, String(x)]));
    };
    const tags = q.getAll('t').filter(Boolean);
    const buildArgs = json('buildargs');
    const labels = json('labels');
    const network = q.get('networkmode');
    if (network && !['default', 'none', 'bridge'].includes(network)) throw badRequest(`invalid networkmode ${JSON.stringify(network)}: default or none`);
    if (q.get('remote')) throw badRequest('remote build contexts are not supported: send the context as a tar archive');
    const quiet = boolParam(q, 'q');
    c.res.writeHead(200, { 'Content-Type': 'application/json' });
    c.res.flushHeaders();
    const line = (doc: Record<string, unknown>) => { if (!c.res.writableEnded) c.res.write(JSON.stringify(doc) + '\n'); };
    const stream = (text: string) => { if (!quiet) line({ stream: text }); };
    const out = new Writable({ write(chunk: Buffer, _e, cb) { stream(chunk.toString('utf8')); cb(); } });
    const tagged: string[] = [];
    const onEvent = (e: BuildEvent) => {
      switch (e.type) {
        case 'step': stream(`Step ${e.n}/${e.total} : ${e.text}\n`); break;
        case 'cached': stream(` ---> Using cache\n ---> ${e.id.replace(/^sha256:/, '').slice(0, 12)}\n`); break;
        case 'done': break;
        // Said after "Successfully built", as Docker orders them.
        case 'tagged': tagged.push(`Successfully tagged ${familiarName(e.name)}\n`); break;
        default: break;
      }
    };
    try {
      const result = await c.svc.build.build({
        context: c.req,
        ...(q.get('dockerfile') ? { file: q.get('dockerfile')! } : {}),
        tags,
        ...(buildArgs ? { buildArgs } : {}),
        ...(labels ? { labels } : {}),
        ...(q.get('target') ? { target: q.get('target')! } : {}),
        noCache: boolParam(q, 'nocache'),
        pull: boolParam(q, 'pull'),
        ...(network === 'none' ? { network: 'none' as const } : {}),
        ...(q.get('platform') ? { platform: q.get('platform')! } : {}),
      }, apiContext({ stdout: out, stderr: out }, c.signal, (l) => stream(`${l}\n`)), { onEvent });
      line({ aux: { ID: result.id } });
      stream(`Successfully built ${result.id.replace(/^sha256:/, '').slice(0, 12)}\n`);
      for (const t of tagged) stream(t);
    } catch (err) {
      line({ errorDetail: { message: errorMessage(err) }, error: errorMessage(err) });
    }
    if (!c.res.writableEnded) c.res.end();
  });
}
