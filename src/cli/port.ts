import type { Command } from 'commander';
import { EngineError } from '../util/errors.js';
import { parsePort } from '../util/values.js';
import { services } from './common.js';
import { displayIp } from './ports-format.js';

export function register(program: Command): void {
  program
    .command('port')
    .description('List a container\'s published ports, or the host address of one')
    .usage('CONTAINER [PRIVATE_PORT[/PROTO]]')
    .argument('<container>')
    .argument('[port]', 'container port, e.g. 80 or 53/udp')
    .action(async (name: string, port: string | undefined) => {
      // Docker shows the ports of a running container; a stopped one has none bound.
      const { name: shown, ports: bound } = await (await services()).containers.ports(name);
      if (port === undefined) {
        const sorted = [...bound].sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol));
        process.stdout.write(sorted.map((b) => `${b.containerPort}/${b.protocol} -> ${displayIp(b.hostIp)}:${b.hostPort}\n`).join(''));
        return;
      }
      const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(port);
      if (!m) throw new EngineError(`invalid port "${port}": use PORT or PORT/PROTO (tcp or udp)`);
      const proto = m[2] ?? 'tcp';
      const ctrPort = parsePort(m[1]!, 'the container port');
      const hits = bound.filter((b) => b.containerPort === ctrPort && b.protocol === proto);
      if (!hits.length) throw new EngineError(`No public port '${m[1]}/${proto}' published for ${shown}`, 1);
      process.stdout.write(hits.map((b) => `${displayIp(b.hostIp)}:${b.hostPort}\n`).join(''));
    });
}
