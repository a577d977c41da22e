import { Command } from 'commander';
import type { PolicyReport, PolicyValue } from '../engine/index.js';
import { toCreateRequest } from '../grammar/create-flags.js';
import { EngineError } from '../util/errors.js';
import { services } from './common.js';
import { jsonFormatOption } from './flag-values.js';
import { addCreateOptions, type CreateFlags } from './create-options.js';
import { processContext } from './process-context.js';

function showValue(v: unknown): string {
  if (typeof v === 'object' && v !== null && 'lo' in v) {
    const r = v as { lo: number; hi: number };
    return `${r.lo}-${r.hi}`;
  }
  if (Array.isArray(v)) return v.length ? v.join(', ') : '(none)';
  return String(v);
}

function printReport(r: PolicyReport): void {
  const out: string[] = [`user: ${r.caller.name} (uid ${r.caller.uid}), home ${r.caller.home}${r.caller.groups.length ? `, groups ${r.caller.groups.join(', ')}` : ''}`];
  if (!r.files.length) out.push('policy: none on this host (/etc/rootlet/policy.toml and policy.d/ are absent)');
  else out.push(`policy: ${r.files.join(', ')}`);
  if (r.userConfig) out.push(`tightened by: ${r.userConfig} [policy]`);
  if (r.files.length || r.userConfig) {
    if (!r.values.length) out.push('no rule applies to you: everything is allowed');
    const width = Math.max(...r.values.map((v: PolicyValue) => v.key.length));
    for (const v of r.values) {
      const from = v.from.map((f) => `${f.file}:${f.line} [${f.section}]`).join('; ');
      out.push(`${v.key.padEnd(width)}  ${showValue(v.value)}  (from ${from})`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** `policy check -- run ARGS...`: ARGS parsed by run's own grammar, then evaluated without pulling or creating. */
async function check(args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  if (verb !== 'run' && verb !== 'create') throw new EngineError('policy check takes a run or create command line: rootlet policy check -- run [OPTIONS] IMAGE [COMMAND]');
  let parsed: { image: string; command: string[]; flags: CreateFlags } | undefined;
  const cmd = addCreateOptions(new Command(verb)
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions()
    .exitOverride()
    .option('-d, --detach'))
    .action((image: string, command: string[], flags: CreateFlags) => { parsed = { image, command, flags }; });
  await cmd.parseAsync(rest, { from: 'user' });
  if (!parsed) return;
  const req = toCreateRequest(parsed.image, parsed.command, parsed.flags, processContext());
  const verdict = await (await services()).policy.check(req);
  if (verdict.allowed) {
    process.stdout.write('allowed\n');
  } else {
    process.stdout.write(`denied: ${verdict.reason}\n`);
    process.exitCode = 125;
  }
}

export function register(program: Command): void {
  const policy = program.command('policy').description('Show or try the admin policy (/etc/rootlet/policy.toml) as it applies to you');
  policy
    .command('show')
    .description('Print the effective policy for you, and where each value came from')
    .addOption(jsonFormatOption('-f, --format <format>', 'json for machine-readable output'))
    .action(async (flags: { format?: 'json' }) => {
      const report = await (await services()).policy.show();
      if (flags.format === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else printReport(report);
    });
  policy
    .command('check')
    .description('Dry-run a request against the policy: rootlet policy check -- run [OPTIONS] IMAGE [COMMAND]; exits 0 when allowed, 125 when denied')
    .usage('-- run [OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<command...>', 'a run (or create) command line')
    .passThroughOptions()
    .allowUnknownOption()
    .action((args: string[]) => check(args));
}
