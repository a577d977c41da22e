import { EngineError } from '../util/errors.js';
import { tabwrite } from './tabwriter.js';
import { parseTemplate, TemplateError } from './template.js';

/** How a listing command (ps, images, ...) prints by default, and the header of each field. */
export interface ListKind {
  /** The default format, as Docker writes it: `table {{.ID}}\t...`. */
  table: string;
  /** Field name -> column header ("ID" -> "CONTAINER ID"); a function heads a method field (`.Label "k"`). */
  headers: Record<string, string | ((...args: string[]) => string)>;
}

/** A bad template: one line and 125, as every other refusal of the command line (Podman's status; issue 12). */
export function templateFailure(err: unknown): never {
  if (err instanceof TemplateError) throw new EngineError(err.message, 125);
  throw err;
}

/**
 * Renders rows as Docker's `--format` does: nothing or `table` is the
 * default table, `json` is one JSON object a line, `table TEMPLATE` is an
 * aligned table under a header row, anything else is TEMPLATE once a row.
 * `\t` and `\n` written literally (as shells pass them) become tab and
 * newline. Rows are structs: a field the row lacks is an error.
 */
export function formatList(format: string | undefined, rows: object[], kind: ListKind): string {
  let f = format ?? '';
  if (f === '' || f === 'table') f = kind.table;
  if (f === 'json') f = '{{json .}}';
  const isTable = f.startsWith('table');
  if (isTable) f = f.slice('table'.length);
  f = f.replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  try {
    const tmpl = parseTemplate(f);
    const body = rows.map((r) => `${tmpl.execute(r, { strict: true })}\n`).join('');
    if (!isTable) return body;
    const header = tmpl.execute(kind.headers, { header: true });
    return tabwrite(`${header}\n${body}`);
  } catch (err) {
    return templateFailure(err);
  }
}

/** Renders each item with a template, one output line each, as `inspect -f` does. */
export function formatEach(format: string, items: unknown[]): string {
  try {
    const tmpl = parseTemplate(format);
    return items.map((i) => `${tmpl.execute(i)}\n`).join('');
  } catch (err) {
    return templateFailure(err);
  }
}
