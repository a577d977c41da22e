import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ComposeProject, ComposeService } from '../../src/compose/model.js';
import { configHash } from '../../src/compose/project/hash.js';
import { stopGroups } from '../../src/compose/project/down.js';
import { dependents, startOrder } from '../../src/compose/project/order.js';
import { prefixed, prefixes } from '../../src/compose/project/logs.js';
import { checkEnforceable, serviceRequest } from '../../src/compose/project/service-request.js';
import type { ContainerSummary } from '../../src/engine/index.js';
import { Writable } from 'node:stream';

function svc(name: string, more: Partial<ComposeService> = {}): ComposeService {
  return { name, image: 'busybox', environment: {}, ports: [], volumes: [], networks: { default: null }, depends_on: {}, labels: {}, ...more };
}

const started = { condition: 'service_started', required: true, restart: false } as const;

function project(services: ComposeService[]): ComposeProject {
  return {
    name: 'p', workingDir: '/w', files: ['/w/compose.yaml'],
    services: Object.fromEntries(services.map((s) => [s.name, s])),
    networks: { default: { name: 'p_default' } }, volumes: { data: { name: 'p_data' } }, secrets: {}, configs: {}, disabledServices: {},
  };
}

const at = { cwd: '/w', env: { FROM_CALLER: 'c' } };

describe('compose: project operations', () => {
  const p = project([
    svc('web', { depends_on: { api: started } }),
    svc('api', { depends_on: { db: started } }),
    svc('db'),
    svc('cache'),
  ]);

  test('start order: dependencies first; selection pulls in dependencies unless --no-deps; cycles and unknown services are errors', () => {
    const order = startOrder(p);
    assert.ok(order.indexOf('db') < order.indexOf('api') && order.indexOf('api') < order.indexOf('web'));
    assert.deepEqual(startOrder(p, ['web']), ['db', 'api', 'web']);
    assert.deepEqual(startOrder(p, ['web'], true), ['web']);
    assert.deepEqual(dependents(p, 'db').sort(), ['api', 'web']);
    assert.throws(() => startOrder(p, ['nope']), /no such service: nope/);
    const cyc = project([svc('a', { depends_on: { b: started } }), svc('b', { depends_on: { a: started } })]);
    assert.throws(() => startOrder(cyc), /dependency cycle detected: a -> b -> a/);
    assert.throws(() => startOrder(project([svc('a', { depends_on: { z: started } })])), /depends on undefined service "z"/);
  });

  test('stop groups: dependents first, a level at once, one-offs before all', () => {
    const c = (name: string, service: string, oneoff = false) => ({ name, labels: { 'com.docker.compose.service': service, 'com.docker.compose.oneoff': oneoff ? 'True' : 'False' } }) as unknown as ContainerSummary;
    const groups = stopGroups(p, [c('db1', 'db'), c('web1', 'web'), c('cache1', 'cache'), c('api1', 'api'), c('run', 'db', true)]);
    assert.deepEqual(groups.map((g) => g.map((x) => x.name).sort()), [['run'], ['web1'], ['api1'], ['cache1', 'db1']]);
  });

  test('config hash: a change of configuration changes it; scale and order of keys do not', () => {
    const a = svc('w', { environment: { A: '1', B: '2' } });
    assert.equal(configHash(a), configHash(svc('w', { environment: { B: '2', A: '1' } })));
    assert.equal(configHash(a), configHash({ ...a, scale: 3, deploy: { replicas: 3 } }));
    assert.notEqual(configHash(a), configHash(svc('w', { environment: { A: '1', B: '3' } })));
  });

  test('service to create request: values, Docker\'s labels, the service name as alias, the shared grammar for ports', () => {
    const s = svc('web', {
      environment: { A: '1', FROM_CALLER: null, UNSET: null },
      ports: [{ target: 80, published: '8080', protocol: 'tcp', mode: 'ingress' }, { target: 53, protocol: 'udp', mode: 'ingress', host_ip: '127.0.0.1' }],
      volumes: [{ type: 'volume', source: 'data', target: '/d' }, { type: 'bind', source: '/w/x', target: '/x', read_only: true, bind: { create_host_path: true } }],
      networks: { default: { aliases: ['www'] } },
      healthcheck: { test: ['CMD', 'true'], interval: '1m30s', retries: 3 },
      command: ['a', 'b'],
      stop_grace_period: '3s',
      mem_limit: '64m',
      restart: 'on-failure:2',
      extra_hosts: { h: '10.0.0.1' },
      ulimits: { nofile: { soft: 10, hard: 20 } },
    });
    const req = serviceRequest(project([s]), s, { number: 2, name: 'p-web-2', hash: 'h' }, at);
    assert.equal(req.name, 'p-web-2');
    assert.deepEqual(req.cmd, ['a', 'b']);
    assert.deepEqual(req.env, ['A=1', 'FROM_CALLER=c']);
    assert.equal(req.labels!['com.docker.compose.container-number'], '2');
    assert.equal(req.labels!['com.docker.compose.oneoff'], 'False');
    assert.equal(req.labels!['com.docker.compose.project'], 'p');
    assert.deepEqual(req.host!.portBindings, [
      { hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, protocol: 'udp' },
    ]);
    assert.deepEqual(req.host!.mounts, [
      { type: 'volume', source: 'p_data', target: '/d', readOnly: false },
      { type: 'bind', source: '/w/x', target: '/x', readOnly: true, mustExist: false },
    ]);
    assert.equal(req.host!.networkMode, 'p_default');
    assert.deepEqual(req.host!.networkAliases, ['web', 'www']);
    assert.deepEqual(req.healthcheck, { test: ['CMD', 'true'], intervalMs: 90_000, retries: 3 });
    assert.equal(req.stopTimeoutSec, 3);
    assert.equal(req.host!.resources!.memoryBytes, 64 << 20);
    assert.deepEqual(req.host!.restartPolicy, { name: 'on-failure', maxRetries: 2 });
    assert.deepEqual(req.host!.extraHosts, ['h:10.0.0.1']);
    assert.deepEqual(req.host!.ulimits, [{ name: 'nofile', soft: 10, hard: 20 }]);
    // A one-off run: no ports unless asked, no restart policy.
    const run = serviceRequest(project([s]), s, { number: 1, name: 'r', oneoff: true, hash: 'h', publish: false, command: ['sh'] }, at);
    assert.deepEqual(run.host!.portBindings, []);
    assert.deepEqual(run.cmd, ['sh']);
    assert.equal(run.host!.restartPolicy, undefined);
    assert.throws(() => serviceRequest(project([s]), svc('low', { ports: [{ target: 80, published: '80', protocol: 'tcp', mode: 'ingress' }] }), { number: 1, name: 'x', hash: 'h' }, at), /cannot publish host port 80/);
  });

  test('what cannot be enforced is an error naming the field', () => {
    const cases: Array<[Partial<ComposeService>, RegExp]> = [
      [{ deploy: { resources: { reservations: { memory: '1g' } } } }, /services\.s\.deploy\.resources\.reservations: /],
      [{ deploy: { placement: { constraints: [] } } }, /services\.s\.deploy\.placement: not supported/],
      [{ deploy: { restart_policy: { condition: 'any', delay: '5s' } } }, /services\.s\.deploy\.restart_policy\.delay: /],
      [{ sysctls: { 'net.core.somaxconn': '1024' } }, /services\.s\.sysctls: /],
      [{ networks: { default: { ipv4_address: '10.0.0.9' } } }, /services\.s\.networks\.default\.ipv4_address: /],
      [{ logging: { driver: 'syslog' } }, /services\.s\.logging\.driver: "syslog" is not supported/],
    ];
    for (const [more, want] of cases) {
      const s = svc('s', more);
      assert.throws(() => checkEnforceable(s, project([s])), want);
    }
    const fine = svc('s', { deploy: { replicas: 2, resources: { limits: { memory: '64m' } } } });
    checkEnforceable(fine, project([fine]));
  });

  test('log prefixes: padded to the longest name, lines kept whole', async () => {
    const pre = prefixes(['p-a-1', 'p-long-1'], false);
    assert.equal(pre.get('p-a-1'), 'p-a-1     | ');
    let out = '';
    const sink = new Writable({ write(c, _e, cb) { out += c; cb(); } });
    const w = prefixed(pre.get('p-a-1')!, sink);
    w.write('one\ntw');
    w.write('o\nthree');
    await new Promise<void>((r) => w.end(r));
    assert.equal(out, 'p-a-1     | one\np-a-1     | two\np-a-1     | three\n');
  });
});
