import { readFileSync } from 'node:fs';
import { runCapture } from '../util/proc.js';
import type { Identity } from './identity.js';

export interface IdRange {
  start: number;
  count: number;
}

export interface SubIds {
  uids: IdRange[];
  gids: IdRange[];
  /** Where the ranges came from, for `info` and the doctor. */
  source: string;
}

/** Parses /etc/subuid-format text for one user, matching the name or the numeric uid. */
export function parseSubIdFile(text: string, name: string, uid: number): IdRange[] {
  const out: IdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [who, start, count] = line.split(':');
    if (who !== name && who !== String(uid)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** Parses `getsubids` output: "0: user 100000 65536" per range. */
export function parseGetsubids(text: string): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+:\s+\S+\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m) out.push({ start: Number(m[1]), count: Number(m[2]) });
  }
  return out;
}

function readRanges(file: string, id: Identity, gidFlag: boolean): { ranges: IdRange[]; source: string } {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch { /* missing file: ask NSS below */ }
  const fromFile = parseSubIdFile(text, id.name, id.uid);
  if (fromFile.length) return { ranges: fromFile, source: file };
  // Ranges may come from NSS (e.g. LDAP, SSSD) where shadow's getsubids knows them.
  const r = runCapture('getsubids', gidFlag ? ['-g', id.name] : [id.name], { timeoutMs: 5000 });
  if (r.code === 0) {
    const ranges = parseGetsubids(r.stdout);
    if (ranges.length) return { ranges, source: 'getsubids (NSS)' };
  }
  return { ranges: [], source: file };
}

export function readSubIds(id: Identity): SubIds {
  const u = readRanges('/etc/subuid', id, false);
  const g = readRanges('/etc/subgid', id, true);
  return { uids: u.ranges, gids: g.ranges, source: u.source === g.source ? u.source : `${u.source}, ${g.source}` };
}

export function totalIds(ranges: IdRange[]): number {
  return ranges.reduce((n, r) => n + r.count, 0);
}
