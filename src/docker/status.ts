import type { ContainerSummary } from '../engine/index.js';

/** Docker's "3 seconds", "About a minute", "2 hours". */
export function humanDuration(ms: number): string {
  // Docker's rules: seconds and minutes truncate, hours and beyond round.
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** Docker's status column: "Up 5 minutes", "Exited (0) 2 hours ago", "Created". */
export function statusText(c: ContainerSummary, now: number): string {
  switch (c.state) {
    case 'removing': return 'Removal In Progress';
    case 'running': {
      const health = c.health ? ` (${c.health === 'starting' ? 'health: starting' : c.health})` : '';
      return `Up ${humanDuration(now - (c.startedAt ?? c.created))}${health}`;
    }
    case 'created': return 'Created';
    default: return `Exited (${c.exitCode ?? 255}) ${humanDuration(now - (c.finishedAt ?? c.created))} ago`;
  }
}
