import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { API_UNIT_MARK, type SystemdUnit } from '../engine/index.js';
import { EngineError } from '../util/errors.js';
import { osReason } from '../util/os-errors.js';

/**
 * Where `system service --install` puts its units, and the writing and
 * removing of them: the user's systemd directory, files made by rootlet
 * only (a unit of the same name the user wrote is never overwritten or
 * removed).
 */

export const API_UNIT_NAMES = ['rootlet.socket', 'rootlet.service'];

export function userUnitDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'systemd', 'user');
}

function ours(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').startsWith(API_UNIT_MARK);
  } catch {
    return false;
  }
}

/** Writes the units (0644, as systemd's own), replacing earlier ones of rootlet's; returns their paths. */
export function writeUnits(dir: string, units: SystemdUnit[]): string[] {
  for (const u of units) {
    const path = join(dir, u.name);
    if (existsSync(path) && !ours(path)) throw new EngineError(`${path} exists and was not made by rootlet: move it away, or leave the API to it`);
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new EngineError(`cannot make ${dir}: ${osReason(err)}`);
  }
  return units.map((u) => {
    const path = join(dir, u.name);
    try {
      writeFileSync(path, u.text, { mode: 0o644 });
    } catch (err) {
      throw new EngineError(`cannot write ${path}: ${osReason(err)}`);
    }
    return path;
  });
}

/** Removes rootlet's units; returns their paths. None installed is an error, as is a unit of that name rootlet did not make. */
export function removeUnits(dir: string): string[] {
  const present = API_UNIT_NAMES.map((n) => join(dir, n)).filter((p) => existsSync(p));
  if (!present.length) throw new EngineError(`the API's units are not installed in ${dir}`);
  for (const p of present) if (!ours(p)) throw new EngineError(`${p} was not made by rootlet: left as it is`);
  for (const p of present) {
    try {
      rmSync(p);
    } catch (err) {
      throw new EngineError(`cannot remove ${p}: ${osReason(err)}`);
    }
  }
  return present;
}
