// Figure: loading a compose project (issue 14, part 1): `rootlet compose
// config` against `docker-compose config` (Debian's docker-compose 1.29,
// the comparator the issue names) on the same three-service project: both
// find, interpolate, merge, follow `extends`, validate and print the model.
// Nothing is started; what is measured is the loader every compose command
// begins with.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { LATENCY_COLUMNS, latencyTable, timeInterleaved } from '../lib/measure.mjs';

export const id = 'compose-config';

// Written for both tools: nothing that docker-compose 1.29 does not know (no top-level name:, no !reset).
const COMPOSE = `services:
  web:
    build: ./web
    image: "bench-web:\${TAG:-latest}"
    command: httpd -f -p 8080 -h /www
    ports: ["\${WEB_PORT:-18080}:8080", "127.0.0.1:9000-9001:9000-9001/udp"]
    environment: [STORE=store, "MODE=\${MODE-dev}"]
    depends_on:
      store: {condition: service_healthy}
  store:
    extends: {file: common.yaml, service: base}
    volumes: ["data:/data", "./seed:/seed:ro"]
    healthcheck: {test: "test -f /data/ready", interval: 1s, retries: 30}
  worker:
    extends: {file: common.yaml, service: base}
    command: ["sh", "-c", "while :; do sleep 1; done"]
    depends_on:
      store: {condition: service_healthy}
    deploy: {resources: {limits: {memory: 64m}}}
volumes:
  data: {}
`;
const COMMON = `services:
  base:
    image: busybox
    environment: {LOG: info}
    labels: [tier=backend]
`;
const OVERRIDE = `services:
  web:
    environment: [MODE=prod]
    ports: ["18081:8080"]
`;

export async function run(sb, { runs, warmup, progress }) {
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status !== 0) {
    throw new Error('docker-compose is not installed (scripts/setup-host.sh installs Debian\'s)');
  }
  const dir = sb.path('compose-config');
  mkdirSync(join(dir, 'web'), { recursive: true });
  writeFileSync(join(dir, 'docker-compose.yml'), COMPOSE);
  writeFileSync(join(dir, 'common.yaml'), COMMON);
  writeFileSync(join(dir, 'docker-compose.override.yml'), OVERRIDE);
  writeFileSync(join(dir, 'web', 'Dockerfile'), 'FROM busybox\n');
  const commands = [
    { tool: 'rootlet', argv: ['sh', '-c', `cd ${dir} && exec "$@" >/dev/null`, 'sh', ...sb.rootletArgv(['compose', 'config'])] },
    { tool: 'docker-compose', argv: ['sh', '-c', `cd ${dir} && exec "$@" >/dev/null`, 'sh', 'docker-compose', 'config'] },
  ];
  const samples = await timeInterleaved(commands, { env: sb.env, cwd: sb.root, runs, warmup, onRound: progress });
  const { stats, rows } = latencyTable(commands, samples, { rootlet: 'rootlet compose config', 'docker-compose': 'docker-compose config (1.29)' });
  const ratio = stats.rootlet.median / stats['docker-compose'].median;
  return {
    id,
    title: 'compose config: loading a three-service project (docker-compose.yml + override, extends from another file)',
    description: `Wall time of printing the resolved project, ${runs} runs per tool after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, interleaved. ` +
      'Both find docker-compose.yml and its override file, interpolate, follow extends into another file, merge, validate against the compose schema and print YAML.',
    runs,
    warmup,
    columns: LATENCY_COLUMNS,
    rows,
    summary: [{ label: 'rootlet / docker-compose (medians)', value: ratio, text: `${ratio.toFixed(2)}×` }],
    notes: ['No daemon is involved: docker-compose\'s config never contacts Docker or Podman.'],
  };
}
