import type { Command } from 'commander';
import type { HistoryEntry } from '../engine/index.js';
import { services } from './common.js';
import { humanDuration, humanSize } from './format.js';
import { shortId } from './images-format.js';
import { formatList, type ListKind } from './list-format.js';
import { ellipsis, goTimeString } from './ps-format.js';

/** `docker history`'s fields and their column headers. */
export const HISTORY_KIND: ListKind = {
  table: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
  headers: {
    ID: 'IMAGE',
    CreatedSince: 'CREATED',
    CreatedAt: 'CREATED AT',
    CreatedBy: 'CREATED BY',
    Size: 'SIZE',
    Comment: 'COMMENT',
  },
};

/** A history step as templates see it: Docker's fields, as strings. */
export function historyRow(h: HistoryEntry, opts: { trunc: boolean; now: number }): Record<string, string> {
  const createdBy = h.createdBy.replace(/\t/g, ' ');
  return {
    Comment: h.comment,
    CreatedAt: h.created === undefined ? 'N/A' : goTimeString(h.created),
    CreatedBy: opts.trunc ? ellipsis(createdBy, 45) : createdBy,
    CreatedSince: h.created === undefined ? 'N/A' : `${humanDuration(opts.now - h.created)} ago`,
    ID: h.id === '<missing>' ? h.id : shortId(h.id, opts.trunc),
    Size: humanSize(h.size),
  };
}

/** `history` / `image history`. */
export function defineHistory(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Show the history of an image: the steps that made it, newest first')
    .usage('[OPTIONS] IMAGE')
    .argument('<image>')
    .option('--format <template>', 'format with a Go template (fields .ID .CreatedSince .CreatedAt .CreatedBy .Size .Comment), or json')
    .option('--no-trunc', 'do not truncate output')
    .option('-q, --quiet', 'only print image ids')
    .action(async (ref: string, flags: { format?: string; trunc: boolean; quiet?: boolean }) => {
      const history = await (await services()).images.history(ref);
      const now = Date.now();
      const rows = history.map((h) => historyRow(h, { trunc: flags.trunc, now }));
      process.stdout.write(formatList(flags.quiet ? '{{.ID}}' : flags.format, rows, HISTORY_KIND));
    });
}
