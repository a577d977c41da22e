import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ApiService } from '../api-helpers.js';
import { Sandbox, type Result } from '../helpers.js';

// Debian's docker-compose (1.29, Python) against rootlet's API socket: it
// creates each container, takes it off its network and connects it again
// with the service's aliases, then starts it; up, ps, logs and down -v
// must work as against Docker, with services reaching each other by name.

const COMPOSE = `version: "3"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hello-from-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    ports: ["18780:8080"]
  kv:
    image: busybox
    command: ["sh", "-c", "echo v1 > /tmp/key; exec httpd -f -p 6379 -h /tmp"]
    volumes: ["data:/data"]
  worker:
    image: busybox
    command: ["sh", "-c", "until wget -q -O- http://kv:6379/key; do sleep 0.2; done; echo worker-done; sleep 600"]
    depends_on: [kv]
volumes:
  data:
`;

describe('docker-compose 1.29 against rootlet system service', () => {
  const sb = new Sandbox('api-compose');
  const proj = sb.path('shop');
  let api: ApiService;
  const compose = (args: string[]): Result => {
    const r = spawnSync('docker-compose', args, { env: api.clientEnv, cwd: proj, encoding: 'utf8', timeout: 180_000 });
    return { code: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const ok = (args: string[]): string => {
    const r = compose(args);
    assert.equal(r.code, 0, `docker-compose ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    sb.importBusybox();
    mkdirSync(proj, { recursive: true });
    writeFileSync(`${proj}/docker-compose.yml`, COMPOSE);
    api = new ApiService(sb);
    await api.ready();
  });
  after(async () => {
    if (api) compose(['down', '-v']);
    await api?.stop();
    sb.destroy();
  });

  test('up -d, ps, logs, the published port, names between services; down -v leaves nothing', async () => {
    ok(['up', '-d']);
    const ps = ok(['ps']);
    for (const name of ['shop_web_1', 'shop_kv_1', 'shop_worker_1']) assert.match(ps, new RegExp(`${name}\\s.*\\bUp\\b`), ps);
    // The worker reached kv by its service name through the project network.
    const deadline = Date.now() + 60_000;
    let logs = '';
    while (!/worker-done/.test(logs)) {
      if (Date.now() > deadline) assert.fail(`the worker never reached kv by name: ${logs}`);
      logs = ok(['logs', 'worker']);
      if (!/worker-done/.test(logs)) await new Promise((r) => setTimeout(r, 300));
    }
    assert.match(logs, /worker_1\s+\|.*v1/);
    assert.equal((await fetch('http://127.0.0.1:18780/index.html').then((r) => r.text())).trim(), 'hello-from-web');

    ok(['down', '-v']);
    assert.equal(sb.ok(['ps', '-aq']), '');
    assert.doesNotMatch(sb.ok(['network', 'ls', '--format', '{{.Name}}']), /shop_default/);
    assert.doesNotMatch(sb.ok(['volume', 'ls', '-q']), /shop_data/);
  });
});
