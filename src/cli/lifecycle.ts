import type { Command } from 'commander';
import { DEFAULT_DETACH_KEYS, parseDetachKeys, type PullPolicy } from '../engine/index.js';
import { toCreateRequest } from '../grammar/create-flags.js';
import { parseSeconds, parseSignal } from '../util/values.js';
import { checkedOption, valueOption } from './flag-values.js';
import { eachName, services } from './common.js';
import { pullOnDemand } from './pull-output.js';
import { addCreateOptions, writeCidfile, type CreateFlags } from './create-options.js';
import { processContext } from './process-context.js';

export function register(program: Command): void {
  addCreateOptions(program
    .command('create')
    .description('Create a container without starting it; prints its id')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .helpOption('--help', 'Show help for create')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions())
    .action(async (image: string, command: string[], flags: CreateFlags) => {
      const req = toCreateRequest(image, command, flags, processContext());
      const svc = await services();
      const { id } = await svc.containers.create(req, { pull: flags.pull as PullPolicy, onPull: pullOnDemand(), warn: (l) => process.stderr.write(`${l}\n`) });
      writeCidfile(flags.cidfile, id);
      process.stdout.write(`${id}\n`);
    });

  program
    .command('start')
    .description('Start one or more stopped containers in the background')
    .argument('<container...>')
    .option('-a, --attach', 'attach to its output and wait for it; exit with its code')
    .option('-i, --interactive', 'with -a: pass your input to the container (it must have been created with -i)')
    .addOption(checkedOption('--detach-keys <keys>', 'with -a: keys that detach and leave it running', (v) => parseDetachKeys(v)).default(DEFAULT_DETACH_KEYS))
    .action(async (names: string[], flags: { attach?: boolean; interactive?: boolean; detachKeys: string }) => {
      if (flags.attach) {
        const { startAttached } = await import('./attach.js');
        process.exitCode = await startAttached(names, !!flags.interactive, flags.detachKeys);
        return;
      }
      await eachName(names, async (svc, name) => {
        await svc.containers.start(name);
        return name;
      });
    });

  program
    .command('stop')
    .description('Stop one or more running containers: the stop signal, then SIGKILL after a timeout')
    .argument('<container...>')
    .addOption(valueOption('-t, --time <seconds>', 'seconds to wait before killing (default: the container\'s stop timeout, 10)', parseSeconds))
    .action(async (names: string[], flags: { time?: number }) => {
      await eachName(names, async (svc, name) => {
        await svc.containers.stop(name, { timeoutSec: flags.time });
        return name;
      });
    });

  program
    .command('restart')
    .description('Stop and start one or more containers')
    .argument('<container...>')
    .addOption(valueOption('-t, --time <seconds>', 'seconds to wait before killing', parseSeconds))
    .action(async (names: string[], flags: { time?: number }) => {
      await eachName(names, async (svc, name) => {
        await svc.containers.restart(name, { timeoutSec: flags.time });
        return name;
      });
    });

  program
    .command('kill')
    .description('Send a signal (default SIGKILL) to one or more running containers')
    .argument('<container...>')
    .addOption(valueOption('-s, --signal <signal>', 'signal to send', parseSignal).default('SIGKILL'))
    .action(async (names: string[], flags: { signal: string }) => {
      await eachName(names, async (svc, name) => {
        await svc.containers.kill(name, { signal: flags.signal });
        return name;
      });
    });

  program
    .command('wait')
    .description('Block until one or more containers stop, then print their exit codes')
    .argument('<container...>')
    .action(async (names: string[]) => {
      await eachName(names, async (svc, name) => String(await svc.containers.wait(name)));
    });

  for (const [verb, pause] of [['pause', true], ['unpause', false]] as const) {
    program
      .command(verb)
      .description(pause ? 'Freeze the processes of one or more containers' : 'Thaw paused containers')
      .argument('<container...>')
      .action(async (names: string[]) => {
        await eachName(names, async (svc, name) => {
          if (pause) await svc.containers.pause(name);
          else await svc.containers.unpause(name);
          return name;
        });
      });
  }

  program
    .command('rename')
    .description('Rename a container')
    .argument('<container>')
    .argument('<new-name>')
    .action(async (name: string, newName: string) => {
      await (await services()).containers.rename(name, newName);
    });
}
