import type { DiskUsage, UsageRow } from '../engine/index.js';
import { familiarName } from '../engine/index.js';
import { ago, humanSize } from './format.js';
import { formatList, templateFailure, type ListKind } from './list-format.js';
import { parseTemplate } from './template.js';
import { tabwrite } from './tabwriter.js';
import { dockerInfo, dockerVersion } from '../docker/system.js';

/**
 * `info`, `version` and `system df` as the CLI prints them, for --format
 * templates and json. The documents themselves (src/docker/system.ts) follow
 * Docker's field names, not Podman's `.Host.…` tree (README's command table),
 * and are the API's too.
 */

export { dockerInfo, dockerVersion };

/** `version` as Docker prints it: Client and Server blocks. */
export function versionText(d: ReturnType<typeof dockerVersion>): string {
  const block = (rows: Array<[string, unknown]>, indent: string) => tabwrite(rows.map(([k, val]) => `${indent}${k}:\t${String(val)}`).join('\n') + '\n', { minWidth: 0, padding: 1 });
  const c = d.Client;
  const s = d.Server;
  const comps = s.Components as Array<{ Name: string; Version: string; Details: Record<string, unknown> }>;
  const engine = comps[0]!;
  let out = 'Client:\n' + block([['Version', c.Version], ['API version', c.ApiVersion], ['Go version', c.GoVersion], ['OS/Arch', `${String(c.Os)}/${String(c.Arch)}`], ['Context', c.Context]], ' ');
  out += '\nServer:\n Engine:\n' + block([['Version', engine.Version], ['API version', s.ApiVersion], ['Go version', s.GoVersion], ['OS/Arch', `${String(s.Os)}/${String(s.Arch)}`], ['Kernel', s.KernelVersion], ['Experimental', s.Experimental]], '  ');
  for (const comp of comps.slice(1)) out += ` ${comp.Name}:\n` + block([['Version', comp.Version], ...Object.entries(comp.Details)], '  ');
  return out;
}

/**
 * A template or json over one document (`version`, `info`): json prints it
 * whole, on one line as Docker does. The document stands for Docker's
 * struct: a field it lacks is an error, not "<no value>".
 */
export function formatOne(format: string, doc: unknown): string {
  if (format === 'json') return `${JSON.stringify(doc)}\n`;
  try {
    return `${parseTemplate(format).execute(doc, { strict: true })}\n`;
  } catch (err) {
    return templateFailure(err);
  }
}

export const DF_KIND: ListKind = {
  table: 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
  headers: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
};

/** Docker's reclaimable column: "11.63MB (70%)", no percentage when the size is 0. */
function reclaimable(r: UsageRow, withPercent = true): string {
  if (!withPercent || r.size === 0) return humanSize(r.reclaimable);
  return `${humanSize(r.reclaimable)} (${Math.round((r.reclaimable / r.size) * 100)}%)`;
}

/** The four rows of `system df`, as Docker's formatter names their fields. */
export function dfRows(u: DiskUsage) {
  const row = (type: string, r: UsageRow, pct = true) => ({ Type: type, TotalCount: String(r.count), Active: String(r.active), Size: humanSize(r.size), Reclaimable: reclaimable(r, pct) });
  return [row('Images', u.images), row('Containers', u.containers), row('Local Volumes', u.volumes), row('Build Cache', u.buildCache, false)];
}

/** `system df -v`: the items of each kind under Docker's headings. */
export function dfVerbose(u: DiskUsage, now = Date.now()): string {
  const table = (header: string[], rows: string[][]) => tabwrite([header, ...rows].map((r) => r.join('\t')).join('\n') + '\n');
  const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
  const images = u.detail.images.flatMap((i) => {
    const names = i.tags.length ? i.tags.map((t) => familiarName(t)) : ['<none>:<none>'];
    return names.map((n) => {
      const at = n.lastIndexOf(':');
      return [n.slice(0, at), n.slice(at + 1), short(i.id), ago(i.created, now), humanSize(i.size), humanSize(i.sharedSize), humanSize(i.uniqueSize), String(i.containers)];
    });
  });
  const containers = u.detail.containers.map((c) => {
    const cmd = c.command.join(' ');
    return [short(c.id), c.image, `"${cmd.length > 20 ? `${cmd.slice(0, 19)}…` : cmd}"`, String(c.localVolumes), humanSize(c.size), ago(c.created, now), c.state, c.name];
  });
  const volumes = u.detail.volumes.map((v) => [v.name, String(v.links), humanSize(v.size)]);
  return [
    'Images space usage:\n',
    table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'], images),
    'Containers space usage:\n',
    table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'], containers),
    'Local Volumes space usage:\n',
    table(['VOLUME NAME', 'LINKS', 'SIZE'], volumes),
    `Build cache usage: ${humanSize(u.buildCache.size)}\n`,
    table(['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED'], []),
  ].join('\n');
}

/** `system df [--format]`. */
export function dfText(u: DiskUsage, format: string | undefined): string {
  return formatList(format, dfRows(u), DF_KIND);
}
