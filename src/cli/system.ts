import type { Command } from 'commander';
import { SystemService } from '../engine/index.js';
import { EngineError } from '../util/errors.js';
import { services } from './common.js';
import { jsonFormatOption, valueOption } from './flag-values.js';
import { invalid } from '../util/values.js';
import { collect, confirm } from './common.js';
import { humanSize } from './format.js';
import { pruneReport } from './volume.js';
import { registerService } from './service.js';
import { dfText, dfVerbose, dockerInfo, dockerVersion, formatOne, versionText } from './system-format.js';

async function printInfo(format: string | undefined): Promise<void> {
  const info = await (await services()).system.info();
  if (format === 'json') {
    // rootlet's own document, as before templates came (scripts read .storage, .paths, .runtime).
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return;
  }
  if (format) {
    process.stdout.write(formatOne(format, dockerInfo(info)));
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

/**
 * --format of info and version: json, or a Go template over Docker's
 * document. A value with no {{ }} is refused: it would print itself.
 */
function templateFormat(what: string) {
  return valueOption('-f, --format <format>', `json, or a Go template over Docker's ${what} document (e.g. '{{.ServerVersion}}')`,
    (v, flag) => (v === 'json' || v.includes('{{') ? v : invalid(flag, v, 'use json or a Go template such as \'{{json .}}\'')));
}

function infoFormat() {
  return templateFormat('info');
}

export function register(program: Command): void {
  program
    .command('info')
    .description('Show the runtime, storage driver, network, id ranges and paths rootlet uses')
    .addOption(infoFormat())
    .action((flags: { format?: string }) => printInfo(flags.format));

  program
    .command('version')
    .description('Show the version of rootlet (the client) and of its engine with the runtime it uses (the server)')
    .addOption(valueOption('-f, --format <format>', 'json, or a Go template over Docker\'s version document (e.g. \'{{.Server.Version}}\')',
      (v, flag) => (v === 'json' || v.includes('{{') ? v : invalid(flag, v, 'use json or a Go template such as \'{{json .}}\''))))
    .action(async (flags: { format?: string }) => {
      const doc = dockerVersion(await (await services()).system.version());
      process.stdout.write(flags.format ? formatOne(flags.format, doc) : versionText(doc));
    });

  const system = program.command('system').description('Manage rootlet on this host');
  registerService(system);
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
    .action((flags: { format?: string }) => printInfo(flags.format));
  system
    .command('df')
    .description('Show the disk space images, containers and volumes use, and what could be reclaimed')
    .option('-v, --verbose', 'each image, container and volume')
    .option('--format <template>', 'Go template over .Type .TotalCount .Active .Size .Reclaimable, table, or json')
    .action(async (flags: { verbose?: boolean; format?: string }) => {
      const usage = await (await services()).system.df();
      process.stdout.write(flags.verbose && !flags.format ? dfVerbose(usage) : dfText(usage, flags.format));
    });
  system
    .command('prune')
    .description('Remove stopped containers, unused networks, dangling images (all unused ones with -a) and with --volumes unused anonymous volumes')
    .option('-a, --all', 'every image no container uses, not only dangling ones')
    .option('--volumes', 'unused anonymous volumes too')
    .option('--filter <KEY=VALUE>', 'until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable; volumes take the label ones only)', collect)
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (flags: { all?: boolean; volumes?: boolean; filter?: string[]; force?: boolean }) => {
      const warning = [
        'WARNING! This will remove:',
        '  - all stopped containers',
        '  - all networks not used by at least one container',
        ...(flags.volumes ? ['  - all anonymous volumes not used by at least one container'] : []),
        flags.all ? '  - all images without at least one container associated to them' : '  - all dangling images',
        '',
        'Are you sure you want to continue? [y/N] ',
      ].join('\n');
      const r = await (await services()).system.prune({
        all: flags.all, volumes: flags.volumes, filters: flags.filter,
        ...(flags.force ? {} : { confirm: () => confirm(warning) }),
      });
      if (!r) return;
      const images = [...r.images.untagged.map((u) => `untagged: ${u}`), ...r.images.deleted.map((d) => `deleted: ${d}`)];
      process.stdout.write(pruneReport('Deleted Containers:', r.containers) + pruneReport('Deleted Networks:', r.networks)
        + pruneReport('Deleted Volumes:', r.volumes) + pruneReport('Deleted Images:', images)
        + `Total reclaimed space: ${humanSize(r.spaceReclaimed)}\n`);
    });
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
