import { formatPorts } from './ports-format.js';
import type { ContainerSummary } from '../engine/containers/list.js';
import { humanDuration, humanSize } from './format.js';
import { statusText } from '../docker/status.js';
import type { ListKind } from './list-format.js';

export { statusText };

/** `docker ps`'s fields and their column headers. */
export const PS_KIND: ListKind = {
  table: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
  headers: {
    ID: 'CONTAINER ID',
    Names: 'NAMES',
    Image: 'IMAGE',
    Command: 'COMMAND',
    CreatedAt: 'CREATED AT',
    RunningFor: 'CREATED',
    Ports: 'PORTS',
    State: 'STATE',
    Status: 'STATUS',
    Size: 'SIZE',
    Labels: 'LABELS',
    Mounts: 'MOUNTS',
    LocalVolumes: 'LOCAL VOLUMES',
    Networks: 'NETWORKS',
    // Docker has no header for .Label and fails; the label's name heads its column here.
    Label: (name: string) => name.toUpperCase(),
  },
};

export function psTableFormat(size: boolean): string {
  return size ? `${PS_KIND.table}\t{{.Size}}` : PS_KIND.table;
}

/** Docker's ellipsis: at most `max` characters, the last one "…" when cut. */
export function ellipsis(s: string, max: number): string {
  if (s.length <= max) return s; // as many code points at most
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/** Printable ASCII but `"` and `\`: what goQuote leaves as it is (most commands). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Go's strconv.Quote, for the characters a command line holds. */
export function goQuote(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  const esc: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v' };
  return `"${[...s].map((c) => esc[c] ?? (c < ' ' || c === '\x7f' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c)).join('')}"`;
}

let zoneFormatter: Intl.DateTimeFormat | undefined;

/** One formatter for every row: making one costs several ms, which `ps -a` of 1,000 containers paid per row. */
function zoneFormat(): Intl.DateTimeFormat {
  return (zoneFormatter ??= new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }));
}

/** Go's time.Time.String() to the second: "2024-03-05 14:07:09 +0000 UTC". */
export function goTimeString(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const offMin = -d.getTimezoneOffset();
  const sign = offMin < 0 ? '-' : '+';
  const abs = Math.abs(offMin);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  const p = (n: number) => String(n).padStart(2, '0');
  const zoneName = zoneFormat().formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? '';
  // Go prints the zone's abbreviation, or the offset itself when the zone has none.
  const zone = /^[A-Z]{2,5}$/.test(zoneName) ? zoneName : offMin === 0 ? 'UTC' : `${sign}${p(Math.floor(abs / 60))}${abs % 60 ? p(abs % 60) : ''}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${off} ${zone}`;
}


/**
 * The row a `ps --format` template sees: Docker's fields, all strings, in
 * the order `{{json .}}` prints them (sorted, as Go marshals a map), and
 * `.Label "name"`.
 */
export function psRow(c: ContainerSummary, opts: { trunc: boolean; now: number }): Record<string, unknown> {
  const trunc = opts.trunc;
  const size = c.size ? `${humanSize(c.size.rw)}${c.size.rootFs > 0 ? ` (virtual ${humanSize(c.size.rootFs)})` : ''}` : '0B';
  const image = trunc && c.image === c.imageId ? c.imageId.replace(/^sha256:/, '').slice(0, 12) : c.image;
  return {
    Command: goQuote(trunc ? ellipsis(c.command, 20) : c.command),
    // A getter: the zone's name needs Intl, whose first use costs tens of ms, and the default table does not show it.
    get CreatedAt() { return goTimeString(c.created); },
    ID: trunc ? c.id.slice(0, 12) : c.id,
    Image: image,
    // Getters too: columns the default table does not show, not worked out for each of 1,000 rows.
    get Labels() { return Object.keys(c.labels).map((k) => `${k}=${c.labels[k]}`).sort().join(','); },
    get LocalVolumes() { return String(c.mounts.filter((m) => m.Driver === 'local').length); },
    get Mounts() { return c.mounts.map((m) => (trunc ? ellipsis(m.Name ?? m.Source, 15) : m.Name ?? m.Source)).join(','); },
    Names: c.name,
    get Networks() { return c.networks.join(','); },
    Ports: formatPorts(c.ports, c.exposed),
    RunningFor: `${humanDuration(opts.now - c.created)} ago`,
    Size: size,
    State: c.state,
    Status: statusText(c, opts.now),
    Label: (name: unknown) => c.labels[String(name)] ?? '',
  };
}
