import { familiarName } from '../engine/index.js';
import type { ImageSummary } from '../engine/index.js';
import type { ImageRecord } from '../image/store.js';
import { humanDuration, humanSize } from './format.js';
import type { ListKind } from './list-format.js';
import { goTimeString } from './ps-format.js';

/** `docker images`' fields and their column headers. */
export const IMAGES_KIND: ListKind = {
  table: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
  headers: {
    Containers: 'CONTAINERS',
    CreatedAt: 'CREATED AT',
    CreatedSince: 'CREATED',
    Digest: 'DIGEST',
    ID: 'IMAGE ID',
    Repository: 'REPOSITORY',
    SharedSize: 'SHARED SIZE',
    Size: 'SIZE',
    Tag: 'TAG',
    UniqueSize: 'UNIQUE SIZE',
    VirtualSize: 'VIRTUAL SIZE',
  },
};

export function imagesTableFormat(digests: boolean): string {
  return digests ? IMAGES_KIND.table.replace('{{.Tag}}\t', '{{.Tag}}\t{{.Digest}}\t') : IMAGES_KIND.table;
}

/** The id as `images` prints it: 12 hex digits, or the whole `sha256:...`. */
export function shortId(id: string, trunc: boolean): string {
  return trunc ? id.replace(/^sha256:/, '').slice(0, 12) : id;
}

/** A familiar name split as `images` shows it: `busybox:1` -> busybox, 1; a name by digest has no tag. */
function splitName(name: string): { repository: string; tag: string } {
  const base = name.split('@')[0]!;
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? { repository: base.slice(0, colon), tag: base.slice(colon + 1) } : { repository: base, tag: '<none>' };
}

/** Keys in Go's order (sorted), as its template engine marshals a struct's map. */
function sorted<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]!]));
}

/**
 * The rows a `docker images --format` template sees: one per name (one
 * `<none>` row for an image without), fields as strings, sorted as Go
 * marshals them. The digest is the manifest's, as Podman shows it for
 * every image (Docker only for pulled ones).
 */
export function summaryRows(img: ImageSummary, opts: { trunc: boolean; now: number }): Array<Record<string, string>> {
  const common = {
    Containers: String(img.containers),
    CreatedAt: goTimeString(img.created),
    CreatedSince: `${humanDuration(opts.now - img.created)} ago`,
    Digest: img.digest,
    ID: shortId(img.id, opts.trunc),
    SharedSize: 'N/A',
    Size: humanSize(img.size),
    UniqueSize: 'N/A',
    VirtualSize: humanSize(img.size),
  };
  const row = (Repository: string, Tag: string) => sorted({ ...common, Repository, Tag });
  if (!img.repoTags.length) return [row('<none>', '<none>')];
  return img.repoTags.map((n) => {
    const { repository, tag } = splitName(n);
    return row(repository, tag);
  });
}

/**
 * The same rows from a store record and the names to show (the shape
 * `images` used before the image service; unit tests build rows this way).
 */
export function imageRows(img: ImageRecord, names: string[], opts: { trunc: boolean; now: number; containers: number }): Array<Record<string, string>> {
  const t = img.config.created ? Date.parse(img.config.created) : NaN;
  return summaryRows({
    id: img.id,
    repoTags: names.map(familiarName),
    digest: img.manifestDigest,
    created: Number.isNaN(t) ? img.created : t,
    size: img.size,
    containers: opts.containers,
  }, opts);
}
