import type { Command } from 'commander';
import { dockerMessage, type EngineEvent, type EventFilters } from '../engine/index.js';
import { invalid, parseTimestamp } from '../util/values.js';
import { services } from './common.js';
import { listOption, valueOption } from './flag-values.js';
import { templateFailure } from './list-format.js';
import { processContext } from './process-context.js';
import { parseTemplate, type Template } from './template.js';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Go's RFC3339NanoFixed in local time, as `docker events` prints a line's time: 2026-12-03T13:00:00.123000000Z. */
export function eventTime(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    + `.${pad(d.getMilliseconds(), 3)}000000${zone}`;
}

/** Docker's default line: time, type, action, actor id, and the attributes sorted by key. */
export function eventLine(ev: EngineEvent): string {
  const attrs = Object.keys(ev.actor.attributes).sort().map((k) => `${k}=${ev.actor.attributes[k]}`);
  return `${eventTime(ev.time)} ${ev.type} ${ev.action} ${ev.actor.id}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

/**
 * What a --format template sees: Docker's events.Message, by its Go field
 * names (.Type, .Actor.ID, .TimeNano), while `{{json .}}` prints it as the
 * API sends it (status, id, from, Type, ..., timeNano).
 */
function templateData(ev: EngineEvent): Record<string, unknown> {
  const m = dockerMessage(ev);
  const data = {
    Status: m.status ?? '', ID: m.id ?? '', From: m.from ?? '',
    Type: m.Type, Action: m.Action, Actor: { ID: m.Actor.ID, Attributes: m.Actor.Attributes },
    Scope: m.scope, Time: m.time, TimeNano: m.timeNano,
  };
  Object.defineProperty(data, 'toJSON', { value: () => m, enumerable: false });
  return data;
}

/** KEY=VALUE of --filter, checked as commander reads it. */
function splitFilter(v: string, flag: string): [string, string] {
  const i = v.indexOf('=');
  if (i <= 0) return invalid(flag, v, 'bad format of filter (expected name=value)');
  return [v.slice(0, i).trim().toLowerCase(), v.slice(i + 1)];
}

function filtersOf(list: string[] | undefined): EventFilters {
  const out: EventFilters = {};
  for (const f of list ?? []) {
    const [k, v] = splitFilter(f, '-f, --filter');
    (out[k] ??= []).push(v);
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('events')
    .description('Print what happens to containers, images and networks, as it happens (until interrupted, or until --until)')
    .addOption(valueOption('--since <time>', 'also the events since a time (RFC 3339, Unix time, or a duration back from now such as 10m)', (v, flag) => parseTimestamp(v, flag)))
    .addOption(valueOption('--until <time>', 'stop at a time (the same forms as --since)', (v, flag) => parseTimestamp(v, flag)))
    .addOption(listOption('-f, --filter <KEY=VALUE>', 'filter by type, event, container, image, network, volume or label (repeatable: one key ORs, several keys AND)', splitFilter))
    .option('--format <template>', 'Go template (e.g. \'{{json .}}\'), or json')
    .action(async (flags: { since?: number; until?: number; filter?: string[]; format?: string }) => {
      let tmpl: Template | undefined;
      try {
        if (flags.format) tmpl = parseTemplate(flags.format === 'json' ? '{{json .}}' : flags.format);
      } catch (err) {
        templateFailure(err);
      }
      const svc = (await services()).events;
      // Ctrl-C (or a TERM) ends the stream; that is how it is meant to end, so the exit status stays 0.
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once('SIGINT', abort);
      process.once('SIGTERM', abort);
      const out = processContext().streams.stdout;
      try {
        for await (const ev of svc.follow({ since: flags.since, until: flags.until, filters: filtersOf(flags.filter) }, { signal: stop.signal })) {
          let line: string;
          try {
            line = tmpl ? tmpl.execute(templateData(ev), { strict: true }) : eventLine(ev);
          } catch (err) {
            return templateFailure(err);
          }
          out.write(`${line}\n`);
        }
      } finally {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      }
    });
}
