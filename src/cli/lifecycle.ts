import type { Command } from 'commander';
import { refreshPeers } from '../engine/networks/endpoints.js';
import { createContainer } from '../engine/containers/create.js';
import { startDetached } from '../engine/containers/start.js';
import { containerStore, isRunning } from '../engine/containers/state.js';
import { killContainer, pauseContainer, stopContainer, waitContainer } from '../engine/containers/stop.js';
import { validateName } from '../engine/containers/spec.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../engine/containers/attach.js';
import { parseSeconds, parseSignal } from '../util/values.js';
import { checkedOption, valueOption } from './flag-values.js';
import { eachName, openEngine } from './common.js';
import { ensureImage } from './ensure-image.js';
import { addCreateOptions, toCreateOptions, type CreateFlags } from './create-options.js';

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
      const engine = await openEngine();
      const rec = createContainer(engine, toCreateOptions(await ensureImage(engine, image, flags.pull), command, flags, true));
      process.stdout.write(`${rec.id}\n`);
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
      await eachName(names, async (engine, name) => {
        const rec = containerStore(engine).resolve(name);
        if (!isRunning(engine, rec)) await startDetached(engine, rec);
        return name;
      });
    });

  program
    .command('stop')
    .description('Stop one or more running containers: the stop signal, then SIGKILL after a timeout')
    .argument('<container...>')
    .addOption(valueOption('-t, --time <seconds>', 'seconds to wait before killing (default: the container\'s stop timeout, 10)', parseSeconds))
    .action(async (names: string[], flags: { time?: number }) => {
      await eachName(names, async (engine, name) => {
        await stopContainer(engine, containerStore(engine).resolve(name), flags.time);
        return name;
      });
    });

  program
    .command('restart')
    .description('Stop and start one or more containers')
    .argument('<container...>')
    .addOption(valueOption('-t, --time <seconds>', 'seconds to wait before killing', parseSeconds))
    .action(async (names: string[], flags: { time?: number }) => {
      await eachName(names, async (engine, name) => {
        const store = containerStore(engine);
        await stopContainer(engine, store.resolve(name), flags.time);
        await startDetached(engine, store.resolve(name));
        return name;
      });
    });

  program
    .command('kill')
    .description('Send a signal (default SIGKILL) to one or more running containers')
    .argument('<container...>')
    .addOption(valueOption('-s, --signal <signal>', 'signal to send', parseSignal).default('SIGKILL'))
    .action(async (names: string[], flags: { signal: string }) => {
      await eachName(names, async (engine, name) => {
        killContainer(engine, containerStore(engine).resolve(name), flags.signal);
        return name;
      });
    });

  program
    .command('wait')
    .description('Block until one or more containers stop, then print their exit codes')
    .argument('<container...>')
    .action(async (names: string[]) => {
      await eachName(names, async (engine, name) => String(await waitContainer(engine, containerStore(engine).resolve(name).id)));
    });

  for (const [verb, pause] of [['pause', true], ['unpause', false]] as const) {
    program
      .command(verb)
      .description(pause ? 'Freeze the processes of one or more containers' : 'Thaw paused containers')
      .argument('<container...>')
      .action(async (names: string[]) => {
        await eachName(names, async (engine, name) => {
          pauseContainer(engine, containerStore(engine).resolve(name), pause);
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
      const engine = await openEngine();
      const store = containerStore(engine);
      const rec = store.resolve(name);
      store.rename(rec.id, validateName(newName));
      // Its own /etc/hosts and those of the other containers of its networks name it anew.
      refreshPeers(engine, rec.id);
    });
}
