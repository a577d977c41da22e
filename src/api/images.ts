import type { ImagePullEvent } from '../engine/index.js';
import { errorMessage } from '../util/errors.js';
import { ApiError, badRequest, boolParam, filtersParam, noContent, sendJson } from './http.js';
import type { Router } from './router.js';

/** /images/...: pull with Docker's streamed JSON progress, list, inspect, history, tag, remove. */
export function imageRoutes(r: Router): void {
  r.add('POST', '/images/create', async (c) => {
    const from = c.query.get('fromImage');
    if (c.query.get('fromSrc')) throw new ApiError(501, 'importing with fromSrc is not supported by this server yet: use rootlet import');
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
}
