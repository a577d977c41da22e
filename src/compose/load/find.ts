import { existsSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { ComposeError } from './errors.js';

/** The file names Docker looks for, in its order of preference. */
export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
/** Read after the file found (never after files named with -f or COMPOSE_FILE), as Docker does. */
const OVERRIDE_FILES = ['compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml'];

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The files to load: `-f` as given (`-` is stdin), else `COMPOSE_FILE`
 * (split on the path list separator), else the first of Docker's names
 * in the working directory or the nearest parent that has one, with its
 * override file beside it.
 */
export function findFiles(flags: string[], composeFile: string | undefined, workDir: string, warn: (m: string) => void): string[] {
  const given = flags.length ? flags : composeFile ? composeFile.split(delimiter).filter(Boolean) : [];
  if (given.length) {
    return given.map((f) => {
      if (f === '-') return '-';
      const abs = resolve(workDir, f);
      if (!existsSync(abs)) throw new ComposeError(`open ${abs}: no such file or directory`);
      if (!isFile(abs)) throw new ComposeError(`${abs}: is not a file`);
      return abs;
    });
  }
  for (let dir = resolve(workDir); ; dir = dirname(dir)) {
    const found = DEFAULT_FILES.filter((n) => isFile(join(dir, n)));
    if (found.length) {
      if (found.length > 1) warn(`Found multiple config files with supported names: ${found.map((n) => join(dir, n)).join(', ')}; using ${found[0]}`);
      const files = [join(dir, found[0]!)];
      const override = OVERRIDE_FILES.find((n) => isFile(join(dir, n)));
      if (override) files.push(join(dir, override));
      return files;
    }
    if (dirname(dir) === dir) break;
  }
  throw new ComposeError(`no configuration file provided: not found (looked for ${DEFAULT_FILES.join(', ')} in ${workDir} and its parents)`);
}

const VALID_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Docker's normalisation of a directory name into a project name: lower case, only [a-z0-9_-], starting with a letter or digit. */
export function normalizeProjectName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[^a-z0-9]+/, '');
}

/** A name the user chose (-p, COMPOSE_PROJECT_NAME, `name:`) must already be valid: it is not silently changed. */
export function checkProjectName(name: string, from: string): string {
  if (!VALID_NAME.test(name)) {
    throw new ComposeError(`invalid project name ${JSON.stringify(name)} (${from}): it must contain only lower-case letters, digits, "-" and "_", and start with a letter or digit`);
  }
  return name;
}

export function projectNameFromDir(dir: string): string {
  const n = normalizeProjectName(basename(dir));
  if (!n) throw new ComposeError(`cannot make a project name from the directory ${JSON.stringify(basename(dir))}: use -p NAME`);
  return n;
}
