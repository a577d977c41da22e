import { EngineError } from '../util/errors.js';
import type { Descriptor } from './oci.js';

/** The archive formats `save` writes and `load` reads. */
export type ArchiveFormat = 'docker-archive' | 'oci-archive';
export const ARCHIVE_FORMATS: ArchiveFormat[] = ['docker-archive', 'oci-archive'];

/**
 * The two archive formats `save` writes and `load` reads.
 *
 * docker-archive (`docker save`): `manifest.json`, a list of
 * `{Config, RepoTags, Layers}` naming files of the archive: the config
 * (`HEX.json`) and each layer as a plain tar whose sha256 is its diff id.
 *
 * oci-archive (an OCI image layout in a tar): `oci-layout`, `index.json`
 * (descriptors of manifests, the name in an annotation) and every blob at
 * `blobs/sha256/HEX`, layers compressed or not as they are.
 */

export interface DockerArchiveImage {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export const MEDIA_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** The annotation Podman and skopeo name an image by in an oci-archive. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's (and Docker's) full name of an image in an OCI layout. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** JSON documents of an archive (manifests, configs, indexes) larger than this are refused. */
export const MAX_DOCUMENT = 8 << 20;

function bad(what: string, why: string): EngineError {
  return new EngineError(`${what} ${why}: the archive is corrupt or not one that save writes; nothing was loaded`);
}

export function parseJson(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw bad(what, 'is not valid JSON');
  }
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export function parseDockerManifest(data: Buffer): DockerArchiveImage[] {
  const v = parseJson(data, 'manifest.json');
  if (!Array.isArray(v) || !v.length) throw bad('manifest.json', 'does not list any image');
  return v.map((e: unknown, i) => {
    const o = e as Partial<DockerArchiveImage> | null;
    if (!o || typeof o.Config !== 'string' || !isStringArray(o.Layers) || (o.RepoTags != null && !isStringArray(o.RepoTags))) {
      throw bad('manifest.json', `entry ${i + 1} lacks Config, Layers or well-formed RepoTags`);
    }
    return { Config: o.Config, RepoTags: o.RepoTags ?? null, Layers: o.Layers };
  });
}

const isDescriptor = (d: unknown): d is Descriptor => {
  const o = d as Partial<Descriptor> | null;
  return !!o && typeof o.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(o.digest) && typeof o.size === 'number' && typeof o.mediaType === 'string';
};

/** An index (index.json, or a nested one): its manifest descriptors, checked. */
export function parseIndex(data: Buffer, what: string): OciIndex {
  const v = parseJson(data, what) as Partial<OciIndex> | null;
  if (!v || !Array.isArray(v.manifests) || !v.manifests.every(isDescriptor)) throw bad(what, 'has no list of manifest descriptors (digest, size, mediaType)');
  return v as OciIndex;
}

/** A manifest's config and layer descriptors, checked. */
export function parseManifest(data: Buffer, what: string): { config: Descriptor; layers: Descriptor[]; mediaType?: string } {
  const v = parseJson(data, what) as { config?: unknown; layers?: unknown; mediaType?: string } | null;
  if (!v || !isDescriptor(v.config) || !Array.isArray(v.layers) || !v.layers.every(isDescriptor)) {
    throw bad(what, 'is not an image manifest (config and layers descriptors)');
  }
  return { config: v.config, layers: v.layers, mediaType: v.mediaType };
}

/** Where a blob lives in an OCI layout. */
export function blobEntry(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}
