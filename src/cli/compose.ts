import type { Command } from 'commander';
import type { LoadOptions } from '../compose/model.js';
import { collect } from './common.js';
import { registerComposeConfig } from './compose-config.js';

// A minimal `compose` command for the loader's branch: the global flags and
// `config`. The project operations (up, down, ps, ...) add their
// subcommands beside it.

interface ComposeFlags {
  file?: string[];
  projectName?: string;
  profile?: string[];
  envFile?: string[];
  projectDirectory?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function register(program: Command): void {
  const compose = program
    .command('compose')
    .description('Run multi-container projects from compose files (compose.yaml)')
    .usage('[OPTIONS] COMMAND')
    .option('-f, --file <file>', 'a compose file (repeatable; "-" reads standard input)', collect)
    .option('-p, --project-name <name>', 'the project name (default: COMPOSE_PROJECT_NAME, the top-level name:, or the directory name)')
    .option('--profile <profile>', 'enable services of this profile (repeatable)', collect)
    .option('--env-file <file>', 'a file of variables for interpolation instead of .env (repeatable)', collect)
    .option('--project-directory <dir>', 'the project directory (default: the directory of the first compose file)');
  const options = (): LoadOptions => {
    const f = compose.opts<ComposeFlags>();
    return {
      files: f.file ?? [],
      ...(f.projectName !== undefined ? { projectName: f.projectName } : {}),
      profiles: f.profile ?? [],
      envFiles: f.envFile ?? [],
      ...(f.projectDirectory !== undefined ? { projectDirectory: f.projectDirectory } : {}),
      cwd: process.cwd(),
      env: process.env,
      stdin: readStdin,
      warn: (m) => process.stderr.write(`WARNING: ${m}\n`),
    };
  };
  registerComposeConfig(compose, options);
}
