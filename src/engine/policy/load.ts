import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError, errorMessage } from '../../util/errors.js';
import { parseBytes } from '../../util/values.js';
import { parsePlainToml } from './plain-toml.js';

/** Where the admin's policy lives in production (tests hand the loader a fake root). */
export const POLICY_DIR = '/etc/rootlet';

/** What the ownership check needs of a file: injected so unit tests can fake root's ownership. */
export interface PolicyStat {
  uid: number;
  mode: number;
  isDirectory(): boolean;
}
export type StatFn = (path: string) => PolicyStat;

/** One key as the admin set it: its value, and where, for the one-line refusal and `policy show`. */
export interface Rule<T = unknown> {
  key: string;
  value: T;
  file: string;
  line: number;
  /** "all", "user.NAME", "group.NAME", or "policy" for the user's own config. */
  section: string;
}

/** A section of a policy file, its keys checked. */
export interface PolicySection {
  section: string;
  rules: Rule[];
}

/** host port range, inclusive. */
export interface PortRange {
  lo: number;
  hi: number;
}

type Check = (v: unknown, where: string) => unknown;

const bool: Check = (v, where) => {
  if (typeof v !== 'boolean') throw new EngineError(`${where} must be true or false`);
  return v;
};

const strings: Check = (v, where) => {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new EngineError(`${where} must be a list of strings`);
  return v as string[];
};

const boolOrStrings: Check = (v, where) => {
  if (typeof v === 'boolean') return v;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new EngineError(`${where} must be true, false or a list of paths`);
  return v as string[];
};

function positive(integer: boolean): Check {
  return (v, where) => {
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !(n > 0) || (integer && !Number.isInteger(n))) throw new EngineError(`${where} must be a ${integer ? 'whole ' : ''}number greater than 0`);
    return n;
  };
}

const size: Check = (v, where) => {
  if (typeof v === 'string') return parseBytes(v, where);
  return positive(true)(v, where);
};

/** "8000-9000", or [8000, 9000]. */
const ports: Check = (v, where) => {
  let lo: unknown, hi: unknown;
  if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(v);
    if (m) [lo, hi] = [Number(m[1]), Number(m[2])];
  } else if (Array.isArray(v) && v.length === 2) {
    [lo, hi] = v.map((x) => (typeof x === 'bigint' ? Number(x) : x));
  }
  if (typeof lo !== 'number' || typeof hi !== 'number' || lo < 1 || hi > 65535 || hi < lo) {
    throw new EngineError(`${where} must be a port range such as "8000-9000"`);
  }
  return { lo, hi } satisfies PortRange;
};

const isolation: Check = (v, where) => {
  if (v !== 'sandbox' && v !== 'default') throw new EngineError(`${where} must be "sandbox" or "default"`);
  return v;
};

/** Every key a policy may set, and its check. An unknown key is refused: a typo must not leave a rule out. */
const KEYS: Record<string, Check> = {
  privileged: bool,
  cap_add: strings,
  devices: boolOrStrings,
  host_network: bool,
  bind_roots: strings,
  registries: strings,
  local_images: bool,
  runtimes: strings,
  isolation,
  ports,
  max_memory: size,
  max_cpus: positive(false),
  max_pids: positive(true),
  max_containers: positive(true),
};

export const POLICY_KEYS = Object.keys(KEYS);

/**
 * The line of each `key =` within its `[section]`: smol-toml gives no
 * positions, and the refusal must name the line. A plain scan is enough
 * for the tables a policy has (no inline tables, keys one per line).
 */
export function keyLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let section = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const header = /^\s*\[([^\]]+)\]\s*(#.*)?$/.exec(l);
    if (header) {
      section = header[1]!.replace(/\s+/g, '').replace(/["']/g, '');
      continue;
    }
    const key = /^\s*(["']?)([A-Za-z0-9_-]+)\1\s*=/.exec(l);
    if (key && !out.has(`${section}\0${key[2]}`)) out.set(`${section}\0${key[2]}`, i + 1);
  }
  return out;
}

function table(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

type TomlParse = (text: string) => Record<string, unknown>;

/** The sections of one policy text. `userConfig`: the user's own rootlet.toml, whose [policy] table is one more section. */
export function parsePolicy(text: string, file: string, parse: TomlParse, opts: { userConfig?: boolean } = {}): PolicySection[] {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    throw new EngineError(`policy file ${file}: ${errorMessage(err).split('\n')[0]}`);
  }
  const lines = keyLines(text);
  const sections: Array<{ name: string; body: Record<string, unknown> }> = [];
  if (opts.userConfig) {
    if (doc.policy === undefined) return [];
    if (!table(doc.policy)) throw new EngineError(`${file}: [policy] must be a table`);
    sections.push({ name: 'policy', body: doc.policy });
  } else {
    for (const [top, v] of Object.entries(doc)) {
      if (top === 'all' && table(v)) {
        sections.push({ name: 'all', body: v });
      } else if ((top === 'user' || top === 'group') && table(v)) {
        for (const [name, body] of Object.entries(v)) {
          if (!table(body)) throw new EngineError(`policy file ${file}:${lines.get(`${top}\0${name}`) ?? 1}: ${top}.${name} must be a section [${top}.${name}]`);
          sections.push({ name: `${top}.${name}`, body });
        }
      } else {
        throw new EngineError(`policy file ${file}:${lines.get(`\0${top}`) ?? 1}: "${top}" is not a section rootlet knows: use [all], [user.NAME] or [group.NAME]`);
      }
    }
  }
  return sections.map(({ name, body }) => ({
    section: name,
    rules: Object.entries(body).map(([key, raw]) => {
      const line = lines.get(`${name}\0${key}`) ?? 0;
      const where = `policy file ${file}:${line} [${name}] ${key}`;
      const check = KEYS[key];
      if (!check) throw new EngineError(`${where}: not a policy key (use ${POLICY_KEYS.join(', ')})`);
      return { key, value: check(raw, where), file, line, section: name };
    }),
  }));
}

/**
 * Refuses a policy file or directory that someone other than root could
 * have written: a policy the user could edit would be no policy, and
 * running without it would be silent.
 */
function checkOwner(path: string, st: PolicyStat): void {
  if (st.uid !== 0) throw new EngineError(`policy ${path} is not owned by root (uid ${st.uid}): rootlet will not run without its policy; have root chown it`);
  if (st.mode & 0o022) {
    throw new EngineError(`policy ${path} is writable by others than root (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): rootlet will not run without its policy; have root chmod go-w it`);
  }
}

function statOrNone(stat: StatFn, path: string): PolicyStat | undefined {
  try {
    return stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new EngineError(`policy ${path}: ${errorMessage(err)}: rootlet will not run without its policy`);
  }
}

/** The admin's policy files, in the order they are read (policy.toml, then policy.d/*.toml by name). */
export interface LoadedPolicy {
  files: string[];
  sections: PolicySection[];
}

/**
 * Reads `dir`/policy.toml and `dir`/policy.d/*.toml. No directory: no
 * policy (one stat). `stat` is injected so unit tests can stand in for root.
 */
export async function loadPolicy(dir = POLICY_DIR, stat: StatFn = statSync): Promise<LoadedPolicy> {
  const out: LoadedPolicy = { files: [], sections: [] };
  const top = statOrNone(stat, dir);
  if (!top) return out;
  checkOwner(dir, top);
  const files: string[] = [];
  const main = join(dir, 'policy.toml');
  const mainSt = statOrNone(stat, main);
  if (mainSt) {
    checkOwner(main, mainSt);
    files.push(main);
  }
  const dropins = join(dir, 'policy.d');
  const dSt = statOrNone(stat, dropins);
  if (dSt) {
    checkOwner(dropins, dSt);
    for (const name of readdirSync(dropins).filter((n) => n.endsWith('.toml')).sort()) {
      const f = join(dropins, name);
      const st = statOrNone(stat, f);
      if (!st || st.isDirectory()) continue;
      checkOwner(f, st);
      files.push(f);
    }
  }
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      throw new EngineError(`policy ${f}: ${errorMessage(err)}: rootlet will not run without its policy`);
    }
    out.files.push(f);
    out.sections.push(...parsePolicy(text, f, await tomlParser(text)));
  }
  return out;
}

/**
 * The parser for a policy text: the plain-TOML fast path when the text is
 * plain, else smol-toml, loaded only then (a host without a policy, or with
 * plain files, pays nothing for it).
 */
async function tomlParser(text: string): Promise<TomlParse> {
  const plain = parsePlainToml(text);
  if (plain) return () => plain;
  const { parse } = await import('smol-toml');
  return parse as TomlParse;
}

/** The [policy] table of the user's own config file: it can only tighten (every section that applies counts). */
export async function loadUserPolicy(configFile: string): Promise<PolicySection[]> {
  let text: string;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch {
    return [];
  }
  if (!/^\s*\[\s*policy\s*\]/m.test(text)) return [];
  return parsePolicy(text, configFile, await tomlParser(text), { userConfig: true });
}
