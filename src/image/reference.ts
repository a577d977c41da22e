import { EngineError } from '../util/errors.js';

/** A parsed image reference, normalized as Docker normalizes it. */
export interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[a-fA-F0-9:]+\](?::[0-9]+)?$/;

function invalid(ref: string, why: string): EngineError {
  return new EngineError(`invalid reference format "${ref}": ${why}`);
}

/** Parses NAME[:TAG][@DIGEST]; `defaultTag` (null: none) is applied when neither tag nor digest is given. */
export function parseReference(ref: string, defaultTag: string | null = 'latest'): Reference {
  if (!ref) throw invalid(ref, 'empty name');
  if (ref.length > 255) throw invalid(ref, 'name longer than 255 characters');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, `"${digest}" is not a digest (want sha256:<64 hex>)`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let domain = DEFAULT_DOMAIN;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!DOMAIN.test(first)) throw invalid(ref, `"${first}" is not a registry host`);
    domain = first;
    parts.shift();
  }
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      const why = p !== p.toLowerCase() ? 'repository name must be lowercase' : `"${p}" is not a valid name component`;
      throw invalid(ref, why);
    }
  }
  if (domain === DEFAULT_DOMAIN && parts.length === 1) parts.unshift('library');
  if (!tag && !digest && defaultTag !== null) tag = defaultTag;
  return { domain, path: parts.join('/'), tag, digest };
}

/** domain/path[:tag][@digest] — the form records are keyed by. */
export function formatReference(r: Reference): string {
  return `${r.domain}/${r.path}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

export function repository(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** The short form Docker prints: docker.io/library/busybox -> busybox. */
export function familiarRepository(repo: string): string {
  if (repo.startsWith(`${DEFAULT_DOMAIN}/library/`)) return repo.slice(`${DEFAULT_DOMAIN}/library/`.length);
  if (repo.startsWith(`${DEFAULT_DOMAIN}/`)) return repo.slice(`${DEFAULT_DOMAIN}/`.length);
  return repo;
}

export function familiarName(full: string): string {
  const r = parseReference(full, null);
  return familiarRepository(repository(r)) + (r.tag ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');
}

/** True for a string that can only be an image id or id prefix (hex), not a name. */
export function looksLikeId(s: string): boolean {
  return /^(sha256:)?[a-f0-9]{12,64}$/.test(s);
}
