import { imageCreated } from '../engine/images/filter.js';
import { sorted } from '../engine/inspect.js';
import { familiarRepository, parseReference, repository } from '../image/reference.js';
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

/**
 * The rows a `docker images --format` template sees: one per name (one
 * `<none>` row for an image without), fields as strings, sorted as Go
 * marshals them. The digest is the manifest's, as Podman shows it for
 * every image (Docker only for pulled ones).
 */
export function imageRows(img: ImageRecord, names: string[], opts: { trunc: boolean; now: number; containers: number }): Array<Record<string, string>> {
  const created = imageCreated(img);
  const common = {
    Containers: String(opts.containers),
    CreatedAt: goTimeString(created),
    CreatedSince: `${humanDuration(opts.now - created)} ago`,
    Digest: img.manifestDigest,
    ID: shortId(img.id, opts.trunc),
    SharedSize: 'N/A',
    Size: humanSize(img.size),
    UniqueSize: 'N/A',
    VirtualSize: humanSize(img.size),
  };
  const row = (Repository: string, Tag: string) => sorted({ ...common, Repository, Tag });
  if (!names.length) return [row('<none>', '<none>')];
  return names.map((n) => {
    const r = parseReference(n, null);
    return row(familiarRepository(repository(r)), r.tag ?? '<none>');
  });
}
