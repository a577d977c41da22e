import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { Pod } from 'kubernetes-models/v1/Pod';
import { busyboxTarball, refusedOneLine, Sandbox, until } from '../helpers.js';
import { CONFIGMAP_POD, REDIS_PVC, WEB_DEPLOYMENT } from '../fixtures/kube-manifests.js';

// Host ports of this file: 18530-18549.

function curl(url: string): string {
  return spawnSync('curl', ['-s', '--max-time', '5', url], { encoding: 'utf8' }).stdout ?? '';
}

type Obj = Record<string, any>;

function docs(yaml: string): Obj[] {
  return parseAllDocuments(yaml).map((d) => (d as { toJS(): Obj }).toJS());
}

/** What a round trip must bring back: image, command, env, ports, mounts, health check. */
function essentials(sb: Sandbox, name: string, portsOf?: string): Obj {
  const d = JSON.parse(sb.ok(['inspect', name]))[0];
  const ports = portsOf ? JSON.parse(sb.ok(['inspect', portsOf]))[0].HostConfig.PortBindings : d.HostConfig.PortBindings;
  return {
    image: d.Config.Image,
    command: [d.Path, ...d.Args],
    env: (d.Config.Env as string[]).filter((e) => !e.startsWith('HOSTNAME=')).sort(),
    ports: ports ?? {},
    mounts: (d.Mounts as Obj[]).map((m) => ({ type: m.Type, name: m.Type === 'volume' ? m.Name : m.Source, dest: m.Destination, rw: m.RW }))
      .filter((m) => !(m.type === 'volume' && /^[0-9a-f]{64}$/.test(m.name))).sort((a, b) => a.dest.localeCompare(b.dest)),
    anonymous: (d.Mounts as Obj[]).filter((m) => m.Type === 'volume' && /^[0-9a-f]{64}$/.test(m.Name)).map((m) => m.Destination),
    tmpfs: d.HostConfig.Tmpfs ?? {},
    user: d.Config.User,
    health: d.Config.Healthcheck ?? null,
  };
}

describe('kube generate and kube play', () => {
  const sb = new Sandbox('kube');
  before(() => {
    sb.importBusybox();
    // An image whose user is not root: the default settings of such a container meet "restricted".
    sb.ok(['import', '--change', 'USER 1000', busyboxTarball(), 'busybox-user']);
  });
  after(() => sb.destroy());

  test('a container with default settings: a valid Pod that meets "restricted"; --privileged and --cap-add are named, --check-pss fails', () => {
    sb.ok(['run', '-d', '--name', 'plain', 'busybox-user', 'sleep', '600']);
    const r = sb.run(['kube', 'generate', '--check-pss', 'plain']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const [pod] = docs(r.stdout);
    new Pod(pod).validate();
    const sc = pod!.spec.containers[0].securityContext;
    assert.deepEqual(sc, { capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });

    sb.ok(['run', '-d', '--name', 'priv', '--privileged', 'busybox', 'sleep', '600']);
    sb.ok(['run', '-d', '--name', 'netadmin', '--cap-add', 'NET_ADMIN', 'busybox-user', 'sleep', '600']);
    const p = sb.run(['kube', 'generate', 'priv']);
    assert.equal(p.code, 0, p.stderr);
    new Pod(docs(p.stdout)[0]).validate();
    assert.match(p.stderr, /^WARNING: spec\.containers\[0\]\.securityContext\.privileged: true \(--privileged\).*"baseline"/m);
    const c = sb.run(['kube', 'generate', '--check-pss', 'netadmin']);
    assert.equal(c.code, 1);
    assert.match(c.stdout, /NET_ADMIN/);
    assert.match(c.stderr, /^WARNING: spec\.containers\[0\]\.securityContext\.capabilities\.add: NET_ADMIN beyond the default set \(--cap-add\).*"baseline"/m);
    assert.match(c.stderr, /^Error: the manifest meets .*"privileged" profile, not "restricted"/m);
    // A root container: named for "restricted" (runAsNonRoot, its default capabilities), still "baseline".
    sb.ok(['run', '-d', '--name', 'rooty', 'busybox', 'sleep', '600']);
    const rooty = sb.run(['kube', 'generate', '--check-pss', '-t', 'deployment', 'rooty']);
    assert.equal(rooty.code, 1);
    assert.match(rooty.stderr, /spec\.template\.spec\.containers\[0\]\.securityContext\.runAsNonRoot: .*"restricted"/);
    assert.match(rooty.stderr, /"baseline" profile, not "restricted"/);
    sb.ok(['rm', '-f', 'plain', 'priv', 'netadmin', 'rooty']);
  });

  test('play of generated YAML makes an equivalent pod; --down removes it', async () => {
    sb.ok(['pod', 'create', '--name', 'duo', '-p', '18530:80']);
    sb.ok(['run', '-d', '--pod', 'duo', '--name', 'web', '-e', 'MODE=web', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    sb.ok(['run', '-d', '--pod', 'duo', '--name', 'side', '-v', 'duo-data:/data', 'busybox', 'sleep', '600']);
    const yaml = sb.ok(['kube', 'generate', '--service', 'duo']);
    const [pod, service, claim] = docs(yaml);
    new Pod(pod).validate();
    assert.equal(service!.kind, 'Service');
    assert.deepEqual(service!.spec.ports, [{ name: '80-tcp', port: 18530, targetPort: 80, protocol: 'TCP' }]);
    assert.equal(claim!.kind, 'PersistentVolumeClaim');
    const before = { web: essentials(sb, 'web'), side: essentials(sb, 'side') };
    sb.ok(['pod', 'rm', '-f', 'duo']);
    const file = sb.path('duo.yaml');
    writeFileSync(file, yaml);
    const out = sb.ok(['kube', 'play', file]);
    assert.match(out, /^Pod:\n[0-9a-f]{64}\nContainers:\n[0-9a-f]{64}\n[0-9a-f]{64}\n/);
    const infra = JSON.parse(sb.ok(['pod', 'inspect', 'duo']))[0].InfraContainerID;
    assert.deepEqual(essentials(sb, 'duo-web'), before.web);
    assert.deepEqual(essentials(sb, 'duo-side'), before.side);
    await until('the played pod serves on its port', () => curl('http://127.0.0.1:18530/hostname').trim() === 'duo');
    assert.ok(infra);
    assert.match(sb.ok(['kube', 'play', '--down', file]), /^Pods stopped and removed:\nduo\n/);
    assert.equal(sb.ok(['pod', 'ls', '-q']), '');
    assert.equal(sb.ok(['ps', '-a', '-q']), '');
    assert.match(sb.ok(['volume', 'ls', '--format', '{{.Name}}']), /^duo-data$/m, 'a claim\'s volume stays, as Podman\'s');
  });

  test('refusals name the kind or the path; nothing is made', () => {
    const bad = (name: string, text: string) => { const f = sb.path(name); writeFileSync(f, text); return f; };
    const kind = bad('kind.yaml', 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec: {}\n');
    refusedOneLine(sb.run(['kube', 'play', kind]), /kind\.yaml: document 1: kind Job \(batch\/v1\) is not supported/, 'an unsupported kind');
    const type = bad('type.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n    ports:\n    - containerPort: eighty\n');
    refusedOneLine(sb.run(['kube', 'play', type]), /type\.yaml: document 1 \(Pod p\): spec\.containers\[0\]\.ports\[0\]\.containerPort: must be integer/, 'a wrong field type');
    const field = bad('field.yaml', '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: "1"\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n    lifecycle:\n      preStop:\n        exec:\n          command: ["true"]\n');
    refusedOneLine(sb.run(['kube', 'play', field]), /field\.yaml: document 2 \(Pod p\): spec\.containers\[0\]\.lifecycle: not supported by kube play/, 'an unsupported field');
    const missing = bad('missing.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n    envFrom:\n    - configMapRef:\n        name: nosuch\n');
    refusedOneLine(sb.run(['kube', 'play', missing]), /envFrom\[0\]: no ConfigMap named nosuch/, 'a missing ConfigMap');
    assert.equal(sb.ok(['pod', 'ls', '-q']), '');
    assert.equal(sb.ok(['ps', '-a', '-q']), '');
  });

  test('real-world manifests play: a Deployment with a Service and an HTTP probe, a Pod with a ConfigMap and a Secret, a claim with a probe', async () => {
    const write = (name: string, text: string) => { const f = sb.path(name); writeFileSync(f, text); return f; };
    const web = write('web.yaml', WEB_DEPLOYMENT);
    sb.ok(['kube', 'play', web]);
    await until('the Service\'s node port answers', () => curl('http://127.0.0.1:18541/hostname').trim() === 'nginx-deployment-pod');
    const health = JSON.parse(sb.ok(['inspect', 'nginx-deployment-pod-nginx']))[0].Config.Healthcheck;
    assert.equal(health.Test[0], 'CMD-SHELL');
    assert.match(health.Test[1], /wget -q -O \/dev\/null http:\/\/localhost:80\/hostname/);

    const cm = write('cm.yaml', CONFIGMAP_POD);
    sb.ok(['kube', 'play', cm]);
    const env = sb.ok(['exec', 'configmap-demo-pod-demo', 'sh', '-c', 'echo $PLAYER_INITIAL_LIVES $UI_PROPERTIES_FILE_NAME $PASSWORD; cat /config/game.properties']);
    assert.match(env, /^3 user-interface\.properties s3cr3t\nenemy\.types=aliens,monsters\n/);

    const redis = write('redis.yaml', REDIS_PVC);
    sb.ok(['kube', 'play', redis]);
    assert.equal(sb.ok(['exec', 'redis-pod-redis', 'id', '-u']).trim(), '1000');
    assert.match(sb.ok(['volume', 'ls', '--format', '{{.Name}}']), /^redis-data$/m);
    const doc = JSON.parse(sb.ok(['inspect', 'redis-pod-redis']))[0];
    assert.deepEqual(doc.Config.Healthcheck.Test, ['CMD', 'test', '-f', '/tmp/state']);
    assert.ok(doc.Mounts.some((m: Obj) => m.Name === 'redis-data' && m.Destination === '/data'));

    for (const f of [web, cm, redis]) sb.ok(['kube', 'play', '--down', f]);
    assert.equal(sb.ok(['ps', '-a', '-q']), '');
  });

  test('round trip: run, kube generate, kube play for varied containers; what comes back equal', () => {
    const host = sb.path('bind-src');
    mkdirSync(host, { recursive: true });
    const cases: Array<{ name: string; flags: string[]; cmd?: string[] }> = [
      { name: 'rt-plain', flags: [] },
      { name: 'rt-env', flags: ['-e', 'A=1', '-e', 'B=two words', '-e', 'EMPTY='] },
      { name: 'rt-port', flags: ['-p', '18531:80'], cmd: ['httpd', '-f', '-p', '80'] },
      { name: 'rt-udp', flags: ['-p', '18532:53/udp'] },
      { name: 'rt-volume', flags: ['-v', 'rt-vol:/data'] },
      { name: 'rt-bind', flags: ['-v', `${host}:/host:ro`] },
      { name: 'rt-tmpfs', flags: ['--tmpfs', '/scratch'] },
      { name: 'rt-anon', flags: ['-v', '/cache'] },
      { name: 'rt-user', flags: ['-u', '1000:1000'] },
      { name: 'rt-health', flags: ['--health-cmd', 'test -d /', '--health-interval', '5s', '--health-retries', '2', '--health-timeout', '2s'] },
      { name: 'rt-entry', flags: ['--entrypoint', '/bin/sh'], cmd: ['-c', 'exec sleep 600'] },
      { name: 'rt-workdir', flags: ['-w', '/tmp', '-e', 'X=y'] },
      { name: 'rt-readonly', flags: ['--read-only', '--cap-drop', 'ALL'] },
      { name: 'rt-restart', flags: ['--restart', 'on-failure'] },
      { name: 'rt-limits', flags: ['-m', '64m', '--cpus', '0.5'] },
      { name: 'rt-imageuser', flags: [], cmd: ['sleep', '600'] },
    ];
    let equal = 0;
    let tried = 0;
    const fields: Record<string, number> = {};
    const lines: string[] = [];
    for (const c of cases) {
      const image = c.name === 'rt-imageuser' ? 'busybox-user' : 'busybox';
      const run = sb.run(['run', '-d', '--name', c.name, ...c.flags, image, ...(c.cmd ?? ['sleep', '600'])]);
      if (run.code !== 0) {
        // Limits need cgroup v2 delegation, which some hosts lack: said, not counted.
        assert.match(run.stderr, /cannot enforce|cgroup/, run.stderr);
        lines.push(`${c.name}: not run here (${run.stderr.trim()})`);
        continue;
      }
      tried++;
      const yaml = sb.ok(['kube', 'generate', c.name]);
      const before = essentials(sb, c.name);
      sb.ok(['rm', '-f', c.name]);
      const file = sb.path(`${c.name}.yaml`);
      writeFileSync(file, yaml);
      sb.ok(['kube', 'play', file]);
      const podName = `${c.name}-pod`;
      const infra = JSON.parse(sb.ok(['pod', 'inspect', podName]))[0].InfraContainerID;
      const after = essentials(sb, `${podName}-${c.name}`, infra);
      const same: string[] = [];
      const differ: string[] = [];
      for (const k of Object.keys(before)) {
        if (JSON.stringify(before[k]) === JSON.stringify(after[k])) {
          same.push(k);
          fields[k] = (fields[k] ?? 0) + 1;
        } else {
          differ.push(`${k}: ${JSON.stringify(before[k])} -> ${JSON.stringify(after[k])}`);
        }
      }
      if (!differ.length) equal++;
      lines.push(`${c.name}: ${differ.length ? `differs in ${differ.join('; ')}` : 'equal'}`);
      sb.ok(['kube', 'play', '--down', file]);
    }
    console.log(`kube round trip: ${equal} of ${tried} containers came back equal (image, command, env, ports, mounts, health check, user); per field: ${JSON.stringify(fields)}\n${lines.join('\n')}`);
    assert.ok(tried >= 12, `${tried} containers tried`);
    assert.ok(equal >= 12, lines.join('\n'));
  });
});

