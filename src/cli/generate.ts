import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SYSTEMD_RESTART, type SystemdRestart } from '../engine/index.js';
import { EngineError } from '../util/errors.js';
import { osReason } from '../util/os-errors.js';
import { parseChoice, parseInteger } from '../util/values.js';
import { services } from './common.js';
import { valueOption } from './flag-values.js';

/** This rootlet as a unit runs it: node and the script it was started as (absolute paths). */
function selfCommand(): string[] {
  return [process.execPath, resolve(process.argv[1] ?? '')];
}

export function register(program: Command): void {
  const gen = program.command('generate').description('Generate files for other systems: systemd units').usage('COMMAND');

  gen.command('systemd')
    .description('Print (or with --files write) a systemd user unit that owns a container or a pod: systemctl --user enable --now UNIT')
    .usage('[OPTIONS] CONTAINER|POD')
    .argument('<name>')
    .option('-f, --files', 'write the unit (and with --new its manifest) into the current directory, printing their paths')
    .option('--new', 'recreate the container or pod at each start from a kube manifest written beside the unit (needs --files)')
    .addOption(valueOption('--restart-policy <policy>', `systemd's Restart=: ${SYSTEMD_RESTART.join(', ')} (default on-failure)`, (v, flag) => parseChoice(v, flag, [...SYSTEMD_RESTART], 'a restart policy')))
    .addOption(valueOption('-t, --time <seconds>', 'seconds a stop waits before it kills (default: the container\'s stop timeout)', (v, flag) => parseInteger(v, flag, 0)))
    .action(async (name: string, f: { files?: boolean; new?: boolean; restartPolicy?: SystemdRestart; time?: number }) => {
      if (f.new && !f.files) throw new EngineError('--new writes a manifest beside the unit: add --files');
      const unit = await (await services()).systemd.generate(name, {
        rootlet: selfCommand(), new: !!f.new, ...(f.restartPolicy ? { restartPolicy: f.restartPolicy } : {}), ...(f.time !== undefined ? { stopTimeoutSec: f.time } : {}),
      });
      if (!f.files) {
        process.stdout.write(unit.text);
        return;
      }
      const written: string[] = [];
      for (const file of [{ name: unit.name, text: unit.text }, ...(unit.manifest ? [unit.manifest] : [])]) {
        const path = resolve(file.name);
        try { writeFileSync(path, file.text); } catch (err) { throw new EngineError(`cannot write ${path}: ${osReason(err)}`); }
        written.push(path);
      }
      process.stdout.write(written.map((p) => `${p}\n`).join(''));
    });
}
