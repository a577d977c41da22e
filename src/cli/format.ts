import { humanDuration } from '../docker/status.js';

/** Docker's human units: "4.26MB", "12kB" (powers of 1000). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  const digits = n >= 100 || i === 0 ? 0 : n >= 10 ? 1 : 2;
  return `${Number(n.toFixed(digits))}${units[i]}`;
}

export { humanDuration };

export function ago(t: number, now = Date.now()): string {
  return `${humanDuration(now - t)} ago`;
}

/** Left-aligned columns separated by at least three spaces, as Docker's tabwriter prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
