import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GenericContainer, Wait } from 'testcontainers';
import { ApiService, insecureRegistryEnv } from '../api-helpers.js';
import { Sandbox } from '../helpers.js';
import { startRegistry, type Registry } from '../registry-helpers.js';

// testcontainers-node against rootlet's API socket, as a project's test
// suite would use it: a container from a (local) registry, waited for by a
// log line and a mapped port, asked over that port, stopped. Ryuk (its
// reaper container) is disabled, as the issue says.

describe('testcontainers against rootlet system service', () => {
  const sb = new Sandbox('api-tc');
  let api: ApiService;
  let reg: Registry;

  before(async () => {
    sb.importBusybox();
    reg = await startRegistry();
    sb.ok(['push', '--tls-verify=false', 'busybox', `${reg.host}/lib/busybox:1`]);
    sb.ok(['rmi', 'busybox']);
    api = new ApiService(sb, { env: insecureRegistryEnv(sb, reg.host) });
    await api.ready();
    process.env.DOCKER_HOST = `unix://${api.sock}`;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    // testcontainers takes a machine with /.dockerenv (as these test machines are) for a container of the
    // engine and looks for its ports at the network's gateway; here the ports are published on the host.
    process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
    process.env.DOCKER_CONFIG = api.clientEnv.DOCKER_CONFIG;
  });
  after(async () => {
    await api?.stop();
    reg?.stop();
    sb.destroy();
  });

  test('a container waited for by its log line and mapped port answers a request, then stops', async () => {
    const started = await new GenericContainer(`${reg.host}/lib/busybox:1`)
      .withCommand(['sh', '-c', 'echo hello-tc > /tmp/index.html; httpd -p 8080 -h /tmp && echo server ready; exec sleep 600'])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forLogMessage('server ready'))
      .start();
    try {
      const port = started.getMappedPort(8080);
      assert.ok(port > 0);
      const url = `http://${started.getHost()}:${port}/index.html`;
      const body = await fetch(url).then((r) => r.text(), (e: Error & { cause?: unknown }) => `${url}: ${String(e.cause ?? e)}`);
      assert.equal(body.trim(), 'hello-tc');
    } finally {
      await started.stop();
    }
    assert.equal(sb.ok(['ps', '-aq']), '');
  });
});
