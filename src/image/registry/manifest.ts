import { EngineError } from '../../util/errors.js';
import { hostArchitecture, type Descriptor, type Manifest } from '../oci.js';
import { invalid } from '../../util/values.js';

/**
 * The manifest formats rootlet pulls (Docker v2 schema 2 and OCI, image
 * manifests and indexes / manifest lists) and platform selection.
 */

export const MANIFEST_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export type Parsed = { kind: 'index'; index: Index } | { kind: 'manifest'; manifest: Manifest };

/** Classifies a manifest by its own mediaType, else the Content-Type, else its shape. */
export function parseManifest(bytes: Buffer, contentType: string, what: string): Parsed {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new EngineError(`${what}: the manifest is not valid JSON`);
  }
  if (doc.schemaVersion === 1) throw new EngineError(`${what}: Docker schema 1 manifests are not supported (the image is from before 2017): push it again with a current tool`);
  const type = (typeof doc.mediaType === 'string' && doc.mediaType) || contentType;
  const isIndex = type === MANIFEST_TYPES.dockerList || type === MANIFEST_TYPES.ociIndex || (!type && Array.isArray(doc.manifests));
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw new EngineError(`${what}: the index lists no manifests`);
    return { kind: 'index', index: doc as unknown as Index };
  }
  if (type && type !== MANIFEST_TYPES.dockerManifest && type !== MANIFEST_TYPES.ociManifest) {
    throw new EngineError(`${what}: unsupported manifest type ${type}`);
  }
  const m = doc as unknown as Manifest;
  if (!m.config?.digest || !Array.isArray(m.layers)) throw new EngineError(`${what}: the manifest has no config or no layers`);
  for (const d of [m.config, ...m.layers]) {
    if (typeof d.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d.digest) || typeof d.size !== 'number' || d.size < 0) {
      throw new EngineError(`${what}: the manifest names a blob "${String(d.digest)}" that is not a sha256 digest with a size`);
    }
  }
  return { kind: 'manifest', manifest: m };
}

export function hostPlatform(): Platform {
  const architecture = hostArchitecture();
  return { os: 'linux', architecture, ...(architecture === 'arm64' ? { variant: 'v8' } : {}) };
}

/** Parses `os/arch[/variant]` as --platform takes it (Docker: `linux/arm64`, `linux/arm/v7`). */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) invalid('--platform', s, 'not a platform: use os/arch[/variant], e.g. linux/amd64 or linux/arm64');
  const aliases: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', i386: '386' };
  const architecture = aliases[parts[1]!] ?? parts[1]!;
  return { os: parts[0]!, architecture, ...(parts[2] ? { variant: parts[2] } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** arm64's variant v8 is the only one: an entry without a variant is the same platform. */
function variantMatches(want: string | undefined, have: string | undefined, arch: string): boolean {
  if (!want) return true;
  if (want === have) return true;
  return arch === 'arm64' && want === 'v8' && !have;
}

/** The index entry for `want`; an error lists what the index offers. */
export function selectPlatform(index: Index, want: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture);
  const match = candidates.find((d) => variantMatches(want.variant, d.platform!.variant, want.architecture)) ?? (want.variant ? undefined : candidates[0]);
  if (!match) {
    const offered = index.manifests.filter((d) => d.platform).map((d) => formatPlatform(d.platform!)).join(', ') || 'none';
    throw new EngineError(`${what}: no image for ${formatPlatform(want)} in the index (it has ${offered}): choose one with --platform`);
  }
  return match;
}
