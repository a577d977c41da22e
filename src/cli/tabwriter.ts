/**
 * Go's text/tabwriter as Docker's tables use it (minimum width 10, padding
 * 3, spaces, left-aligned): tab-terminated cells line up in columns; the
 * last cell of a line is not part of any column. A column is aligned over
 * the run of consecutive lines that have a cell in it, as in Go, so a line
 * with fewer cells starts a new alignment block for the columns it lacks.
 */
export interface TabOptions {
  minWidth: number;
  padding: number;
}

export const DOCKER_TABLE: TabOptions = { minWidth: 10, padding: 3 };
const SURROGATE = /[\uD800-\uDFFF]/;

/** Width as a terminal shows it: one per code point (Go counts runes). */
function width(s: string): number {
  // Without a surrogate pair the length is the width: no iterating every cell of `ps -a` over 1,000 rows.
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _c of s) n++;
  return n;
}

export function tabwrite(text: string, opts: TabOptions = DOCKER_TABLE): string {
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const out: string[] = lines.map(() => '');
  const widths: number[] = [];

  const emit = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      let s = '';
      cells.forEach((c, j) => {
        s += c;
        if (j < widths.length && j < cells.length - 1) s += ' '.repeat(Math.max(0, widths[j]! - width(c)));
      });
      out[i] = s;
    }
  };

  // Go's algorithm: find each block of lines that has a cell in this column, size the column over it, recurse for the next.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    let start = line0;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      emit(start, i);
      const blockStart = i;
      let w = opts.minWidth;
      for (; i < line1 && column < lines[i]!.length - 1; i++) {
        w = Math.max(w, width(lines[i]![column]!) + opts.padding);
      }
      widths.push(w);
      format(blockStart, i);
      widths.pop();
      start = i;
      i--;
    }
    emit(start, line1);
  };

  format(0, lines.length);
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
