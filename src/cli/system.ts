import type { Command } from 'commander';
import { SystemService } from '../engine/index.js';
import { EngineError } from '../util/errors.js';
import { services } from './common.js';
import { jsonFormatOption } from './flag-values.js';

async function printInfo(format: 'json' | undefined): Promise<void> {
  const info = await (await services()).system.info();
  if (format === 'json') {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return;
  }
  const lines = [
    `rootlet ${info.version}`,
    `Host:      ${info.host.os}, kernel ${info.host.kernel}, ${info.host.arch}, cgroups ${info.host.cgroups}`,
    `User:      ${info.host.user} (uid ${info.host.uid})`,
    `Runtime:   ${info.runtime.name ? `${info.runtime.name} (${info.runtime.path}, ${info.runtime.version})` : `none: ${info.runtime.error}`}`,
    `Storage:   ${info.storage.driver}`,
    `  root:    ${info.storage.root}`,
    `  run:     ${info.storage.runRoot}`,
    `  images: ${info.storage.images}, containers: ${info.storage.containers}`,
    `Network:   default ${info.network.default}, stack ${info.network.stack}`,
    `  modes:   ${info.network.available.join(', ')}`,
    'ID maps:   container -> host (size)',
    ...info.idMappings.uids.map((m) => `  uid      ${m.container} -> ${m.host} (${m.size})`),
    ...info.idMappings.gids.map((m) => `  gid      ${m.container} -> ${m.host} (${m.size})`),
    `Config:    ${info.paths.config}`,
    `Namespace: held by pid ${info.paths.namespaceHolderPid ?? '-'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** info's --format: json, or Docker's template for it. */
function infoFormat() {
  return jsonFormatOption('-f, --format <format>', 'json (or {{json .}}) for machine-readable output', ['{{json .}}']);
}

export function register(program: Command): void {
  program
    .command('info')
    .description('Show the runtime, storage driver, network, id ranges and paths rootlet uses')
    .addOption(infoFormat())
    .action((flags: { format?: 'json' }) => printInfo(flags.format));

  program
    .command('version')
    .description('Show the rootlet version')
    .action(() => { process.stdout.write(`rootlet version ${SystemService.version().version}\n`); });

  const system = program.command('system').description('Manage rootlet on this host');
  system
    .command('check')
    .description('Check every rootless prerequisite; print the fix for each failure')
    .addOption(jsonFormatOption('-f, --format <format>', 'json for machine-readable output'))
    .action(async (flags: { format?: 'json' }) => {
      const report = await (await services()).system.check();
      const results = report.checks;
      const failed = !report.ok;
      if (flags.format === 'json') {
        process.stdout.write(JSON.stringify({ ok: report.ok, checks: results }, null, 2) + '\n');
      } else {
        for (const r of results) {
          const tag = { ok: 'ok     ', warn: 'warn   ', failed: 'FAILED ', skipped: 'skipped' }[r.status];
          process.stdout.write(`${tag} ${r.item}: ${r.detail}\n`);
          if (r.fix && r.status !== 'ok') process.stdout.write(`        fix: ${r.fix}\n`);
        }
        process.stdout.write(failed ? '\nrootlet cannot run containers here until the FAILED items are fixed.\n' : '\nrootlet can run containers here.\n');
      }
      if (failed) process.exitCode = 1;
    });
  system
    .command('info')
    .description('Same as `rootlet info`')
    .addOption(infoFormat())
    .action((flags: { format?: 'json' }) => printInfo(flags.format));
  system
    .command('recover')
    .description('Rebuild a lost or damaged state database from the store: the old one is kept aside, images, names and containers (running ones too) are restored from disk')
    .option('-f, --force', 'rebuild even when the database looks sound')
    .action(async (flags: { force?: boolean }) => {
      const report = await SystemService.recover({ force: flags.force }, (step) => {
        if (step.kind === 'verdict') {
          const v = step.verdict;
          process.stdout.write(`state database ${step.database}: ${v.state === 'damaged' ? `damaged (${v.why})` : v.state}\n`);
        } else {
          process.stdout.write(`kept the old database as ${step.file}\n`);
        }
      });
      if (!report.rebuilt) {
        process.stdout.write(`the state database ${report.database} is sound: nothing to recover (--force rebuilds it anyway)\n`);
        return;
      }
      for (const r of report.restored) process.stdout.write(`restored ${r}\n`);
      for (const r of report.notRestored) process.stdout.write(`not restored: ${r}\n`);
      process.stdout.write(`${report.restored.length} restored, ${report.notRestored.length} not restored\n`);
    });
  system
    .command('reset')
    .description('Remove all containers, images and state of your rootlet, and stop its namespace')
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (flags: { force?: boolean }) => {
      if (!flags.force) throw new EngineError('system reset deletes every container and image you have: run it again with --force');
      // Also a store whose database was lost or damaged: reset deletes it all anyway.
      const { removed } = await (await services({ fresh: 'allow' })).system.reset();
      process.stdout.write(`removed ${removed}\n`);
    });
}
