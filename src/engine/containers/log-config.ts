import { existsSync } from 'node:fs';
import { EngineError } from '../../util/errors.js';
import { parseBytes } from '../../util/values.js';
import { LOG_DRIVERS, type LogConfig, type LogDriver } from './request.js';

/** Where the container's output goes, as stored with its spec (absent in records of older versions: k8s-file, no limit). */
export interface LogSettings {
  driver: LogDriver;
  /** k8s-file: bytes the log may reach before it is started anew (conmon's --log-size-max). */
  maxSize?: number;
  /** The options as given, for inspect. */
  config?: Record<string, string>;
}

/** systemd-journald's socket: where conmon's journald driver writes. */
export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/**
 * HostConfig.LogConfig, checked as any front door's: a driver rootlet
 * has, options that driver takes, and journald only where a journal runs
 * (conmon would otherwise drop the output: a silent downgrade).
 */
export function logSettings(c: LogConfig | undefined, journal = () => existsSync(JOURNAL_SOCKET)): LogSettings {
  const driver = c?.type ?? 'k8s-file';
  if (!LOG_DRIVERS.includes(driver)) throw new EngineError(`invalid log driver "${driver}": use k8s-file, none or journald`);
  if (driver === 'journald' && !journal()) throw new EngineError(`log driver journald needs systemd-journald, and none runs here (no ${JOURNAL_SOCKET}): use k8s-file or none`);
  const out: LogSettings = { driver };
  for (const [k, v] of Object.entries(c?.config ?? {})) {
    if (k !== 'max-size' || driver !== 'k8s-file') throw new EngineError(`unknown log opt '${k}' for ${driver} log driver${driver === 'k8s-file' ? ': rootlet takes max-size' : ''}`);
    const bytes = parseBytes(v, 'log opt max-size');
    // conmon's own floor: a smaller log would be started anew at almost every line.
    if (bytes < 8192) throw new EngineError(`invalid log opt max-size "${v}": use at least 8k`);
    out.maxSize = bytes;
    out.config = { [k]: v };
  }
  return out;
}

/** Docker's LogConfig for inspect. */
export function logConfigOf(s: LogSettings | undefined): { Type: string; Config: Record<string, string> } {
  return { Type: s?.driver ?? 'k8s-file', Config: s?.config ?? {} };
}
