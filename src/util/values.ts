import { isIP } from 'node:net';
import { EngineError } from './errors.js';

/**
 * Every typed value a user gives rootlet (a flag's argument, a config key)
 * is parsed here, so that a bad one is refused the same way everywhere:
 * one line naming where it came from, the value, and what was expected.
 * A bottom layer: it imports nothing of rootlet but the error class.
 *
 * `name` says where the value came from: a flag ("-t, --time", "--memory")
 * or anything else (a config key such as "/home/a/.config/rootlet/rootlet.toml:
 * network.default_rootless_network_cmd").
 */
export class ValueError extends EngineError {
  constructor(readonly source: string, readonly value: string, readonly expected: string) {
    // Docker's wording for a flag ("invalid argument ... for ... flag"); a key reads as a sentence.
    super(source.startsWith('-')
      ? `invalid argument "${value}" for "${source}" flag: ${expected}`
      : `${source}: "${value}" is ${expected}`);
    this.name = 'ValueError';
  }
}

/** Throws the refusal of `value` for `name`; `expected` reads after "is" ("not a duration: use ..."). */
export function invalid(name: string, value: string, expected: string): never {
  throw new ValueError(name, value, expected);
}

/** A whole number within [min, max]. */
export function parseInteger(v: string, name: string, min = -Number.MAX_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const t = v.trim();
  if (!/^[-+]?\d+$/.test(t)) return invalid(name, v, `not a whole number${rangeText(min, max)}`);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) return invalid(name, v, `out of range: use a whole number${rangeText(min, max)}`);
  return n;
}

function rangeText(min: number, max: number): string {
  const big = Number.MAX_SAFE_INTEGER;
  if (min > -big && max < big) return ` from ${min} to ${max}`;
  if (min > -big) return ` of at least ${min}`;
  if (max < big) return ` of at most ${max}`;
  return '';
}

/** Seconds as a whole number of 0 or more (stop -t, --stop-timeout). */
export function parseSeconds(v: string, name: string): number {
  if (!/^\s*\+?\d+\s*$/.test(v)) return invalid(name, v, 'not a number of seconds: use a whole number of 0 or more');
  return parseInteger(v, name, 0);
}

/** A decimal number (no unit) greater than 0, e.g. --cpus 1.5. */
export function parsePositiveNumber(v: string, name: string): number {
  const t = v.trim();
  const n = Number(t);
  if (!/^\+?(\d+(\.\d*)?|\.\d+)$/.test(t) || !Number.isFinite(n)) return invalid(name, v, 'not a number: use a decimal number such as 0.5 or 2');
  if (n <= 0) return invalid(name, v, 'out of range: use a number greater than 0');
  return n;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
// Escaped, not literal: esbuild keeps a regex literal's characters as written, and one
// non-ASCII character in the bundle makes its start-up read slow (scripts/build.mjs).
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;

/**
 * A Go duration, as Docker takes it: one or more number+unit parts (ns, us,
 * ms, s, m, h), e.g. 30s, 1m30s, 1.5h, 500ms; "0" alone needs no unit.
 * Returns milliseconds (possibly fractional). Negative durations are refused.
 */
export function parseDuration(v: string, name: string): number {
  const t = v.trim();
  if (t === '0') return 0;
  const bad = () => invalid(name, v, 'not a duration: use a number with a unit, such as 30s, 1m30s or 500ms');
  if (!t) return bad();
  let ms = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < t.length) {
    const m = DURATION_PART.exec(t);
    if (!m) return bad();
    ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  }
  return ms;
}

/** Whether `v` reads as a duration (for values that may be one of several kinds). */
function isDuration(v: string): boolean {
  try {
    parseDuration(v, '-');
    return true;
  } catch {
    return false;
  }
}

/**
 * Docker's --since/--until (logs, events, the until= filter): an RFC 3339
 * time, a Unix time in seconds (with a fraction), or a duration back from
 * `now` (10m, 1h30m). Returns epoch milliseconds.
 */
export function parseTimestamp(v: string, name: string, now = Date.now()): number {
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  if (t && isDuration(t)) return now - parseDuration(t, name);
  // Date.parse alone takes too much ("1", "May"): a date must at least look like one.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(ms)) return invalid(name, v, 'not a time: use an RFC 3339 time (2026-01-02T15:04:05Z), a Unix timestamp, or a duration such as 10m');
  return ms;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker's sizes in bytes (RAMInBytes): 512, 64m, 1.5g, 512k, 64MiB, 1gb; units are powers of 1024. */
export function parseBytes(v: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(v.trim());
  if (!m) return invalid(name, v, 'not a size: use a number with an optional unit b, k, m or g (e.g. 64m)');
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) return invalid(name, v, 'out of range: too large');
  return bytes;
}

/** A TCP/UDP port number, 1-65535. */
export function parsePort(v: string, name: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) return invalid(name, v, 'not a port number (1-65535)');
  return n;
}

/** "8000" or "8000-8002" as the list of ports. */
export function parsePortRange(v: string, name: string): number[] {
  const m = /^([^-]+)(?:-(.+))?$/.exec(v);
  if (!m) return invalid(name, v, 'not a port or a range of ports (e.g. 8000-8002)');
  const lo = parsePort(m[1]!, name);
  const hi = m[2] === undefined ? lo : parsePort(m[2], name);
  if (hi < lo) return invalid(name, v, 'not a range: it ends before it starts');
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

export type Protocol = 'tcp' | 'udp';

/** One published port. hostPort 0: a free port the kernel picks when the container starts. */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

function portSpecError(flag: string, spec: string, why: string): never {
  return invalid(flag, spec, `not a valid port specification: ${why}`);
}

function portIn(v: string, spec: string, what: string, flag: string): number[] {
  try {
    return parsePortRange(v, what);
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    return portSpecError(flag, spec, /ends before/.test(err.expected) ? `the range ${v} ends before it starts` : `${what} "${v}" is not a port number (1-65535)`);
  }
}

function protocolOf(v: string | undefined, spec: string, flag: string): Protocol {
  const p = (v ?? 'tcp').toLowerCase();
  if (p !== 'tcp' && p !== 'udp') return portSpecError(flag, spec, `protocol "${v}" is not tcp or udp (sctp is not supported)`);
  return p;
}

/**
 * -p [IP:][HOSTPORT:]CTRPORT[/PROTO] as Docker parses it: ranges on either
 * side (of equal length when both are given), an IPv6 address in brackets,
 * no host port for a free one.
 */
export function parsePublish(spec: string, flag = '-p, --publish'): PortBinding[] {
  const slash = spec.lastIndexOf('/');
  const body = slash < 0 ? spec : spec.slice(0, slash);
  const protocol = protocolOf(slash < 0 ? undefined : spec.slice(slash + 1), spec, flag);
  let hostIp = '';
  let rest = body;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(body);
  if (v6) {
    hostIp = v6[1]!;
    rest = v6[2]!;
  } else {
    const parts = body.split(':');
    if (parts.length > 3) return portSpecError(flag, spec, 'use [IP:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]');
    if (parts.length === 3) {
      hostIp = parts[0]!;
      rest = `${parts[1]}:${parts[2]}`;
    }
  }
  if (hostIp && !isIP(hostIp)) return portSpecError(flag, spec, `"${hostIp}" is not an IP address`);
  const colon = rest.indexOf(':');
  const hostPart = colon < 0 ? '' : rest.slice(0, colon);
  const ctrPart = colon < 0 ? rest : rest.slice(colon + 1);
  if (!ctrPart) return portSpecError(flag, spec, 'no container port');
  const ctr = portIn(ctrPart, spec, 'container port', flag);
  const host = hostPart ? portIn(hostPart, spec, 'host port', flag) : ctr.map(() => 0);
  if (host.length !== ctr.length) {
    // Docker: a host range for one container port means "any one of these"; rootlet does not do that.
    if (host.length > 1 && ctr.length === 1) return portSpecError(flag, spec, 'a host port range needs a container range of the same length');
    return portSpecError(flag, spec, `the host range (${host.length} ports) and the container range (${ctr.length}) differ in length`);
  }
  return ctr.map((c, i) => ({ hostIp, hostPort: host[i]!, containerPort: c, protocol }));
}

/** --expose PORT[-PORT][/PROTO] (and an image's ExposedPorts keys) as "80/tcp" entries. */
export function parseExpose(spec: string, flag = '--expose'): string[] {
  const [ports, proto] = spec.split('/');
  const protocol = protocolOf(proto, spec, flag);
  return portIn(ports ?? '', spec, 'port', flag).map((p) => `${p}/${protocol}`);
}

const SIGNAL_NAMES = ['HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM',
  'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS'];

/** A signal as the runtimes take it: SIGTERM, term or 15 become "SIGTERM" or "15"; RTMIN+3 too. */
export function parseSignal(s: string, name = '--signal'): string {
  const v = s.trim().toUpperCase();
  if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64) return String(Number(v));
  const sig = v.startsWith('SIG') ? v.slice(3) : v;
  if (SIGNAL_NAMES.includes(sig) || /^RTMIN(\+\d+)?$|^RTMAX(-\d+)?$/.test(sig)) return `SIG${sig}`;
  return invalid(name, s, 'not a signal: use a name such as SIGTERM or KILL, or a number from 1 to 64');
}

/** A true/false value (the forms Go's ParseBool takes). */
export function parseBool(v: string, name: string): boolean {
  if (/^(1|t|true)$/i.test(v.trim())) return true;
  if (/^(0|f|false)$/i.test(v.trim())) return false;
  return invalid(name, v, 'not a boolean: use true or false');
}

/** One of a fixed set of words; `what` names the kind ("a network stack"). */
export function parseChoice<T extends string>(v: string, name: string, choices: readonly T[], what = 'a valid value'): T {
  if ((choices as readonly string[]).includes(v)) return v as T;
  const list = choices.map((c) => `"${c}"`);
  const use = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
  return invalid(name, v, `not ${what}: use ${use}`);
}

/** An IPv4 or IPv6 address. */
export function parseIp(v: string, name: string): string {
  if (!isIP(v)) return invalid(name, v, 'not an IP address');
  return v;
}

/** A user or group as a name or a number (uid/gid). */
const ID_PART = /^(\d+|[a-zA-Z_][a-zA-Z0-9_.-]*\$?)$/;
const MAX_ID = 2 ** 32 - 2;

/** USER[:GROUP], each a name or a number (-u, --user). Returns the parts. */
export function parseUserSpec(v: string, name = '-u, --user'): { user: string; group?: string } {
  const parts = v.split(':');
  const bad = () => invalid(name, v, 'not a user: use a name or uid, optionally with :group or :gid (e.g. 1000:1000 or nobody)');
  if (parts.length > 2 || parts.some((p) => !ID_PART.test(p))) return bad();
  if (parts.some((p) => /^\d+$/.test(p) && Number(p) > MAX_ID)) return invalid(name, v, `out of range: ids go from 0 to ${MAX_ID}`);
  return { user: parts[0]!, group: parts[1] };
}

/** An absolute path (e.g. a working directory inside the container). */
export function parseAbsolutePath(v: string, name: string): string {
  if (!v.startsWith('/')) return invalid(name, v, 'not an absolute path: it must start with /');
  return v;
}
