import type { ImagePullEvent } from '../engine/index.js';
import { errorMessage } from '../util/errors.js';
import { ApiError, badRequest, boolParam, filtersParam, intParam, noContent, readBody, sendJson } from './http.js';
import { archiveRoutes, importFromBody } from './image-archives.js';
import { headerValue, pushRoutes, registryAuth } from './push.js';
import type { Router } from './router.js';

/** /images/...: pull with Docker's streamed JSON progress, import, list, inspect, history, tag, remove, prune, commit; archives and push in their own modules. */
export function imageRoutes(r: Router): void {
  archiveRoutes(r);
  pushRoutes(r);

  r.add('POST', '/images/create', async (c) => {
    const from = c.query.get('fromImage');
    const fromSrc = c.query.get('fromSrc');
    if (fromSrc) return importFromBody(c, fromSrc);
    if (!from) throw badRequest('fromImage is required');
    const tag = c.query.get('tag');
    const ref = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from;
    const platform = c.query.get('platform') || undefined;
    c.res.writeHead(200, { 'Content-Type': 'application/json' });
    c.res.flushHeaders();
    const line = (doc: Record<string, unknown>) => { if (!c.res.writableEnded) c.res.write(JSON.stringify(doc) + '\n'); };
    const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);
    const onProgress = (e: ImagePullEvent) => {
      switch (e.type) {
        case 'begin': line({ status: `Pulling from ${e.name.replace(/:[^:/]*$/, '')}`, id: e.defaultTag ?? (tag || 'latest') }); break;
        case 'layer': line({ status: e.state === 'exists' ? 'Already exists' : e.state === 'complete' ? 'Pull complete' : 'Waiting', progressDetail: {}, id: short(e.digest) }); break;
        case 'progress': line({ status: 'Downloading', progressDetail: { current: e.bytes, total: e.total }, id: short(e.digest) }); break;
        case 'warning': line({ status: e.message }); break;
        case 'pulled':
          line({ status: `Digest: ${e.result.digest}` });
          line({ status: e.result.upToDate ? `Status: Image is up to date for ${e.result.name}` : `Status: Downloaded newer image for ${e.result.name}` });
          break;
        default: break;
      }
    };
    try {
      await c.svc.images.pull(ref, { ...(platform ? { platform } : {}) }, onProgress);
    } catch (err) {
      // The answer has begun: the error goes in the stream, where Docker's clients look for it.
      line({ errorDetail: { message: errorMessage(err) }, error: errorMessage(err) });
    }
    if (!c.res.writableEnded) c.res.end();
  });

  r.add('GET', '/images/json', async (c) => {
    const list = await c.svc.images.list({ all: boolParam(c.query, 'all'), filters: filtersParam(c.query) });
    sendJson(c.res, 200, list.map((i) => ({
      Id: i.id,
      ParentId: '',
      RepoTags: i.repoTags,
      RepoDigests: i.digest && i.repoTags.length ? [`${i.repoTags[0]!.replace(/:[^:/]*$/, '')}@${i.digest}`] : [],
      Created: Math.floor(i.created / 1000),
      Size: i.size,
      SharedSize: -1,
      VirtualSize: i.size,
      Labels: {},
      Containers: i.containers,
    })));
  });

  r.add('GET', '/images/{name*}/json', async (c) => {
    sendJson(c.res, 200, await c.svc.images.inspect(c.params.name!));
  });

  r.add('GET', '/images/{name*}/history', async (c) => {
    const h = await c.svc.images.history(c.params.name!);
    sendJson(c.res, 200, h.map((e) => ({ Id: e.id || '<missing>', Created: Math.floor((e.created ?? 0) / 1000), CreatedBy: e.createdBy, Tags: null, Size: e.size, Comment: e.comment })));
  });

  r.add('POST', '/images/{name*}/tag', async (c) => {
    const repo = c.query.get('repo');
    if (!repo) throw badRequest('repo is required');
    const tag = c.query.get('tag');
    await c.svc.images.tag(c.params.name!, tag ? `${repo}:${tag}` : repo);
    noContent(c.res, 201);
  });

  r.add('DELETE', '/images/{name*}', async (c) => {
    const r2 = await c.svc.images.remove(c.params.name!, { force: boolParam(c.query, 'force') });
    sendJson(c.res, 200, [...r2.untagged.map((u) => ({ Untagged: u })), ...r2.deleted.map((d) => ({ Deleted: d }))]);
  });

  r.add('POST', '/images/prune', async (c) => {
    const { all, filters } = imagePruneFilters(filtersParam(c.query));
    const p = await c.svc.images.prune({ all, filters });
    const deleted = [...p!.untagged.map((u) => ({ Untagged: u })), ...p!.deleted.map((d) => ({ Deleted: d }))];
    sendJson(c.res, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: p!.reclaimed });
  });

  r.add('GET', '/images/search', async (c) => {
    const term = c.query.get('term');
    if (!term) throw badRequest('term is required');
    const limit = intParam(c.query, 'limit');
    const keep = searchFilter(filtersParam(c.query));
    const found = await c.svc.images.search(term, { credentials: registryAuth(headerValue(c.req.headers['x-registry-auth'])), ...(limit ? { limit } : {}) });
    // A catalog knows names only: no description, stars, official or automated mark.
    sendJson(c.res, 200, keep ? found.map((f) => ({ name: f.name, description: '', star_count: 0, is_official: false, is_automated: false })) : []);
  });

  r.add('POST', '/commit', async (c) => {
    const container = c.query.get('container');
    if (!container) throw badRequest('container is required');
    const body = (await readBody(c.req)).toString('utf8').trim();
    // Docker's clients send the container's config only to override it; the CLI sends none (null).
    if (body && body !== 'null' && body !== '{}') {
      throw badRequest('a config in the commit request body is not applied by this server: give Dockerfile instructions in changes= instead');
    }
    const repo = c.query.get('repo') || undefined;
    const tag = c.query.get('tag') || undefined;
    if (tag && !repo) throw badRequest('tag given without repo');
    const comment = c.query.get('comment') || undefined;
    const author = c.query.get('author') || undefined;
    const r2 = await c.svc.build.commit(container, {
      ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
      changes: c.query.getAll('changes').filter(Boolean),
      ...(comment ? { message: comment } : {}),
      ...(author ? { author } : {}),
      pause: boolParam(c.query, 'pause', true),
    });
    sendJson(c.res, 201, { Id: r2.id });
  });
}

/**
 * Docker's image prune filters → the engine's: `dangling=false` is the
 * CLI's --all (every image no container uses), `dangling=true` the
 * default; until and label go through as they are (the engine checks them).
 */
export function imagePruneFilters(filters: string[]): { all: boolean; filters: string[] } {
  let all = false;
  const rest: string[] = [];
  for (const f of filters) {
    const m = /^dangling=(.*)$/.exec(f);
    if (!m) { rest.push(f); continue; }
    if (/^(0|false)$/i.test(m[1]!)) all = true;
    else if (!/^(1|true)$/i.test(m[1]!)) throw badRequest(`invalid filter dangling=${m[1]}: true or false`);
  }
  return { all, filters: rest };
}

/**
 * Docker's search filters, against results that have no stars and are
 * neither official nor automated: whether any result can pass them.
 */
export function searchFilter(filters: string[]): boolean {
  let keep = true;
  for (const f of filters) {
    const [key, value = ''] = f.split(/=(.*)/s);
    if (key === 'is-official' || key === 'is-automated') {
      if (!/^(true|false|1|0)$/i.test(value)) throw badRequest(`invalid filter ${f}: true or false`);
      if (/^(true|1)$/i.test(value)) keep = false;
    } else if (key === 'stars') {
      if (!/^\d+$/.test(value)) throw badRequest(`invalid filter ${f}: a number of stars`);
      if (Number(value) > 0) keep = false;
    } else {
      throw badRequest(`invalid filter '${key}': search takes is-official, is-automated and stars`);
    }
  }
  return keep;
}
