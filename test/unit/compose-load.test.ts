import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { LoadOptions } from '../../src/compose/model.js';
import { activateServices, ComposeError, loadProject } from '../../src/compose/load/index.js';
import { interpolate } from '../../src/compose/load/interpolate.js';
import { parseEnvFile } from '../../src/compose/load/envfile.js';
import { splitShellWords } from '../../src/compose/load/shellwords.js';
import { portLong, volumeLong } from '../../src/compose/load/normalize.js';
import { dependencyCycle } from '../../src/compose/load/check.js';
import { normalizeProjectName } from '../../src/compose/load/find.js';
import { composeSchemaForValidation } from '../../src/compose/load/schema-data.js';
import { SCHEMA_SHA256 } from '../../src/compose/load/validate-compose.generated.js';

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** A directory of files (path → text) for one case. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'compose-load-'));
  roots.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

function opts(cwd: string, more: Partial<LoadOptions> = {}): LoadOptions {
  return { files: [], profiles: [], envFiles: [], cwd, env: {}, ...more };
}

async function refused(p: Promise<unknown>, want: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ComposeError, String(e));
    assert.equal(e.exitCode, 1);
    assert.ok(!e.message.includes('\n'), e.message);
    assert.match(e.message, want);
    return true;
  });
}

describe('interpolation', () => {
  const env: Record<string, string> = { SET: 'v', EMPTY: '' };
  const lookup = (n: string) => env[n];
  const cases: [string, string][] = [
    ['$SET', 'v'], ['${SET}', 'v'], ['a${SET}b', 'avb'], ['$SET.x', 'v.x'], ['${UNSET}', ''],
    ['${UNSET:-d}', 'd'], ['${EMPTY:-d}', 'd'], ['${SET:-d}', 'v'],
    ['${UNSET-d}', 'd'], ['${EMPTY-d}', ''],
    ['${SET:+x}', 'x'], ['${EMPTY:+x}', ''], ['${UNSET:+x}', ''],
    ['${SET+x}', 'x'], ['${EMPTY+x}', 'x'], ['${UNSET+x}', ''],
    ['${SET:?e}', 'v'], ['${EMPTY?e}', ''],
    ['$$', '$'], ['$$SET', '$SET'], ['$${SET}', '${SET}'],
    ['${UNSET:-${SET}}', 'v'], ['${UNSET:-${ALSO:-deep}}', 'deep'], ['${UNSET:-a}}', 'a}'],
    ['no dollars', 'no dollars'],
  ];
  for (const [input, want] of cases) test(input, () => assert.equal(interpolate(input, lookup), want));

  test('required variables name the variable and the message', () => {
    assert.throws(() => interpolate('${UNSET:?need it}', lookup), /required variable UNSET is missing a value: need it/);
    assert.throws(() => interpolate('${EMPTY:?need it}', lookup), /required variable EMPTY/);
    assert.throws(() => interpolate('${UNSET?}', lookup), /^Error: required variable UNSET is missing a value$|required variable UNSET is missing a value$/);
  });

  test('a lone $ or an unclosed brace is an error', () => {
    assert.throws(() => interpolate('echo $1', lookup), /invalid interpolation format/);
    assert.throws(() => interpolate('${SET', lookup), /invalid interpolation format/);
    assert.throws(() => interpolate('${SET!x}', lookup), /invalid interpolation format/);
  });

  test('unset variables are reported', () => {
    const seen: string[] = [];
    interpolate('$A ${B} ${C:-x}', lookup, (n) => seen.push(n));
    assert.deepEqual(seen, ['A', 'B']);
  });

  test('in a file: the file and the document path are named', async () => {
    const root = tree({ 'compose.yaml': 'services:\n  web:\n    image: x\n    environment:\n      - A=${NEED:?set NEED}\n' });
    await refused(loadProject(opts(root)), /^compose\.yaml: services\.web\.environment\[0\]: required variable NEED is missing a value: set NEED$/);
  });

  test('the caller environment wins over .env, and .env over nothing', async () => {
    const root = tree({ 'compose.yaml': 'services:\n  web:\n    image: "${IMG}:${TAG}"\n', '.env': 'IMG=fromdotenv\nTAG=1\n' });
    assert.equal((await loadProject(opts(root))).services.web!.image, 'fromdotenv:1');
    assert.equal((await loadProject(opts(root, { env: { IMG: 'fromenv' } }))).services.web!.image, 'fromenv:1');
    const other = join(root, 'other.env');
    writeFileSync(other, 'IMG=other\nTAG=2\n');
    assert.equal((await loadProject(opts(root, { envFiles: [other] }))).services.web!.image, 'other:2');
  });

  test('an interpolated number where the schema wants one is a number', async () => {
    const root = tree({ 'compose.yaml': 'services:\n  web:\n    image: x\n    deploy:\n      replicas: ${N}\n    read_only: ${RO}\n' });
    const p = await loadProject(opts(root, { env: { N: '3', RO: 'true' } }));
    assert.equal(p.services.web!.scale, 3);
    assert.equal(p.services.web!.read_only, true);
  });
});

describe('env files', () => {
  test("Docker's syntax", () => {
    const text = [
      '# a comment', '', 'A=1', 'export B=two', 'C="quoted # not a comment"', "D='single $A'", 'E=plain # comment',
      'F="line1\\nline2"', 'G=${A}x', 'H', 'I=', 'J="multi', 'line"', '  K = spaced',
    ].join('\n');
    assert.deepEqual(parseEnvFile(text, (n) => (n === 'H' ? 'fromenv' : undefined)), {
      A: '1', B: 'two', C: 'quoted # not a comment', D: 'single $A', E: 'plain', F: 'line1\nline2', G: '1x', H: 'fromenv', I: '', J: 'multi\nline', K: 'spaced',
    });
    assert.deepEqual(parseEnvFile('UNSETBARE\n'), { UNSETBARE: null });
  });

  test('an unterminated quote is an error', () => {
    assert.throws(() => parseEnvFile('A="open\n'), /unterminated/);
  });

  test('env_file: string, list and long form with required: false, environment over it', async () => {
    const root = tree({
      'compose.yaml': 'services:\n  a:\n    image: x\n    env_file: a.env\n    environment: {OVER: mine}\n' +
        '  b:\n    image: x\n    env_file: [a.env, {path: missing.env, required: false}]\n',
      'a.env': 'FROM_FILE=1\nOVER=file\n',
    });
    const p = await loadProject(opts(root));
    assert.deepEqual(p.services.a!.environment, { FROM_FILE: '1', OVER: 'mine' });
    assert.deepEqual(p.services.a!.env_file, [join(root, 'a.env')]);
    assert.deepEqual(p.services.b!.environment, { FROM_FILE: '1', OVER: 'file' });
  });

  test('a missing required env_file is an error', async () => {
    const root = tree({ 'compose.yaml': 'services:\n  a:\n    image: x\n    env_file: nope.env\n' });
    await refused(loadProject(opts(root)), /services\.a\.env_file: env file .*nope\.env not found/);
  });
});

describe('short syntax to long', () => {
  test('command strings split as a shell would, without expanding', () => {
    assert.deepEqual(splitShellWords(`echo "a b" 'c $d' e\\ f "x\\"y" && z`, 'c'), ['echo', 'a b', 'c $d', 'e f', 'x"y', '&&', 'z']);
    assert.deepEqual(splitShellWords('  ', 'c'), []);
    assert.deepEqual(splitShellWords('a "" b', 'c'), ['a', '', 'b']);
    assert.throws(() => splitShellWords('echo "open', 'c'), ComposeError);
  });

  test('ports', () => {
    assert.deepEqual(portLong('127.0.0.1:8080:80/udp', 'p'), [{ mode: 'ingress', host_ip: '127.0.0.1', target: 80, published: '8080', protocol: 'udp' }]);
    assert.deepEqual(portLong(80, 'p'), [{ mode: 'ingress', target: 80, protocol: 'tcp' }]);
    assert.deepEqual(portLong('8080:80', 'p'), [{ mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' }]);
    assert.deepEqual(portLong('127.0.0.1::80', 'p'), [{ mode: 'ingress', host_ip: '127.0.0.1', target: 80, protocol: 'tcp' }]);
    assert.deepEqual(portLong('[::1]:53:53/udp', 'p'), [{ mode: 'ingress', host_ip: '::1', target: 53, published: '53', protocol: 'udp' }]);
    assert.deepEqual(portLong('8000-8010:80', 'p'), [{ mode: 'ingress', target: 80, published: '8000-8010', protocol: 'tcp' }]);
    assert.deepEqual(portLong('9000-9001:7000-7001', 'p').map((x) => `${x.published}->${x.target}`), ['9000->7000', '9001->7001']);
    assert.deepEqual(portLong('7000-7001', 'p').map((x) => x.target), [7000, 7001]);
    assert.deepEqual(portLong({ target: 80, published: 8080 }, 'p'), [{ mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' }]);
    for (const bad of ['80/sctp', 'x:80', '1:2:3:4', '70000', '9000-9002:7000-7001', '10-5']) assert.throws(() => portLong(bad, 'p'), ComposeError, bad);
  });

  test('volumes', () => {
    const ctx = { baseDir: '/proj', home: '/home/u', where: 'f' };
    assert.deepEqual(volumeLong('./data:/data:ro', ctx, 'v'), { type: 'bind', source: '/proj/data', target: '/data', read_only: true, bind: { create_host_path: true } });
    assert.deepEqual(volumeLong('~/x:/x:z', ctx, 'v'), { type: 'bind', source: '/home/u/x', target: '/x', bind: { create_host_path: true, selinux: 'z' } });
    assert.deepEqual(volumeLong('db:/var/lib', ctx, 'v'), { type: 'volume', source: 'db', target: '/var/lib' });
    assert.deepEqual(volumeLong('db:/var/lib:nocopy', ctx, 'v'), { type: 'volume', source: 'db', target: '/var/lib', volume: { nocopy: true } });
    assert.deepEqual(volumeLong('/anon', ctx, 'v'), { type: 'volume', target: '/anon' });
    assert.deepEqual(volumeLong({ type: 'bind', source: 'rel', target: '/t' }, ctx, 'v'), { type: 'bind', source: '/proj/rel', target: '/t' });
    assert.deepEqual(volumeLong({ type: 'tmpfs', target: '/t', tmpfs: { size: 1000 } }, ctx, 'v'), { type: 'tmpfs', target: '/t', tmpfs: { size: 1000 } });
    assert.throws(() => volumeLong('a:/b:bogus', ctx, 'v'), ComposeError);
    assert.throws(() => volumeLong({ type: 'npipe', target: '/t' }, ctx, 'v'), ComposeError);
  });

  test('a whole service', async () => {
    const root = tree({
      'compose.yaml': `
services:
  web:
    build: ./app
    command: sh -c "echo hi"
    entrypoint: [/bin/tini, --]
    environment: [A=1, B]
    labels: [x=y]
    depends_on: [db]
    extra_hosts: ["h1:10.0.0.1", "h2=10.0.0.2"]
    healthcheck: {test: curl -f localhost}
    tmpfs: /run
    dns: 1.1.1.1
    ulimits: {nofile: 1024, nproc: {soft: 1, hard: 2}}
    scale: 2
    secrets: [s1, {source: s2, target: custom}]
    configs: [c1]
    networks: [front]
  db:
    image: redis
    network_mode: host
networks: {front: {}}
secrets: {s1: {file: ./s1.txt}, s2: {external: true}}
configs: {c1: {file: /etc/hostname}}
`,
    });
    const p = await loadProject(opts(root, { env: { B: 'fromenv' } }));
    const web = p.services.web!;
    assert.equal(p.name, normalizeProjectName(root.split('/').pop()!));
    assert.deepEqual(web.build, { context: join(root, 'app'), dockerfile: 'Dockerfile' });
    assert.deepEqual(web.command, ['sh', '-c', 'echo hi']);
    assert.deepEqual(web.entrypoint, ['/bin/tini', '--']);
    assert.deepEqual(web.environment, { A: '1', B: 'fromenv' });
    assert.deepEqual(web.labels, { x: 'y' });
    assert.deepEqual(web.depends_on, { db: { condition: 'service_started', required: true, restart: false } });
    assert.deepEqual(web.extra_hosts, { h1: '10.0.0.1', h2: '10.0.0.2' });
    assert.deepEqual(web.healthcheck?.test, ['CMD-SHELL', 'curl -f localhost']);
    assert.deepEqual(web.tmpfs, ['/run']);
    assert.deepEqual(web.dns, ['1.1.1.1']);
    assert.deepEqual(web.ulimits, { nofile: { soft: 1024, hard: 1024 }, nproc: { soft: 1, hard: 2 } });
    assert.equal(web.scale, 2);
    assert.deepEqual(web.secrets, [{ source: 's1', target: '/run/secrets/s1' }, { source: 's2', target: '/run/secrets/custom' }]);
    assert.deepEqual(web.configs, [{ source: 'c1', target: '/c1' }]);
    assert.deepEqual(web.networks, { front: null });
    assert.deepEqual(p.services.db!.networks, {});
    assert.equal(p.services.db!.scale, 1);
    assert.equal(p.networks.front!.name, `${p.name}_front`);
    assert.equal(p.networks.default, undefined, 'no service is on the default network');
    assert.deepEqual(p.secrets.s1, { name: `${p.name}_s1`, file: join(root, 's1.txt') });
    assert.deepEqual(p.secrets.s2, { name: 's2', external: true });
  });

  test('build args named without a value take the caller\'s; sizes are strings, cpus a number', async () => {
    const root = tree({ 'compose.yaml': 'services:\n  a: {build: {context: ., args: [FROM_ENV, FIXED=1, UNSET]}, mem_limit: 1048576, shm_size: 64m, cpus: "1.5"}\n' });
    const a = (await loadProject(opts(root, { env: { FROM_ENV: 'v' } }))).services.a!;
    assert.deepEqual(a.build?.args, { FROM_ENV: 'v', FIXED: '1', UNSET: null });
    assert.equal(a.mem_limit, '1048576');
    assert.equal(a.shm_size, '64m');
    assert.equal(a.cpus, 1.5);
  });

  test('scale and deploy.replicas that differ are an error', async () => {
    const root = tree({ 'compose.yaml': 'services:\n  a: {image: x, scale: 2, deploy: {replicas: 3}}\n' });
    await refused(loadProject(opts(root)), /services\.a: "scale" \(2\) and "deploy\.replicas" \(3\) differ/);
  });
});

describe('merging -f files', () => {
  test('the compose-spec rules', async () => {
    const root = tree({
      'a.yaml': `
services:
  web:
    image: one
    command: [a, b]
    environment: {A: "1", B: "1"}
    ports: ["8080:80", "9090:90"]
    volumes: ["./x:/x", "./y:/y"]
    dns: [1.1.1.1]
    labels: {keep: "1", drop: "1"}
    healthcheck: {test: [CMD, a], interval: 5s}
  other: {image: o}
volumes: {v: {}}
`,
      'b.yaml': `
services:
  web:
    image: two
    command: [c]
    environment: [B=2, C=3]
    ports: ["8080:80/udp", "127.0.0.1:9090:90"]
    volumes: ["./z:/x:ro"]
    dns: [1.1.1.1, 8.8.8.8]
    labels: {drop: !reset null}
    healthcheck: {test: [CMD, b]}
  other:
    image: o2
    ports: !reset []
volumes: {v: {labels: {l: "1"}}}
`,
      'c.yaml': `
services:
  web:
    environment: !override {ONLY: "1"}
`,
    });
    const p = await loadProject(opts(root, { files: ['a.yaml', 'b.yaml', 'c.yaml'] }));
    const web = p.services.web!;
    assert.equal(web.image, 'two');
    assert.deepEqual(web.command, ['c'], 'command is replaced');
    assert.deepEqual(web.environment, { ONLY: '1' }, '!override replaces the map');
    assert.deepEqual(web.ports.map((x) => `${x.host_ip ?? ''}:${x.published}:${x.target}/${x.protocol}`),
      [':8080:80/tcp', ':9090:90/tcp', ':8080:80/udp', '127.0.0.1:9090:90/tcp'], 'ports merge by their address');
    assert.deepEqual(web.volumes.map((v) => `${v.source}:${v.target}:${v.read_only ? 'ro' : 'rw'}`),
      [`${join(root, 'z')}:/x:ro`, `${join(root, 'y')}:/y:rw`], 'volumes merge by target');
    assert.deepEqual(web.dns, ['1.1.1.1', '8.8.8.8']);
    assert.deepEqual(web.labels, { keep: '1' }, '!reset removes a key');
    assert.deepEqual(web.healthcheck, { test: ['CMD', 'b'], interval: '5s' });
    assert.deepEqual(p.services.other!.ports, []);
    assert.equal(p.services.other!.image, 'o2');
    assert.deepEqual(p.volumes.v, { name: `${p.name}_v`, labels: { l: '1' } });
    assert.deepEqual(p.files, ['a.yaml', 'b.yaml', 'c.yaml'].map((f) => join(root, f)));
    assert.equal(p.workingDir, root);
  });

  test('environment merges as a map', async () => {
    const root = tree({ 'a.yaml': 'services:\n  w: {image: x, environment: [A=1, B=1]}\n', 'b.yaml': 'services:\n  w: {environment: {B: "2"}}\n' });
    const p = await loadProject(opts(root, { files: ['a.yaml', 'b.yaml'] }));
    assert.deepEqual(p.services.w!.environment, { A: '1', B: '2' });
  });

  test('compose.override.yaml beside the file found is read after it', async () => {
    const root = tree({ 'compose.yaml': 'services:\n  w: {image: base}\n', 'compose.override.yaml': 'services:\n  w: {image: over}\n' });
    assert.equal((await loadProject(opts(root))).services.w!.image, 'over');
  });
});

describe('YAML', () => {
  test('anchors, aliases, merge keys and x- extensions', async () => {
    const root = tree({
      'compose.yaml': 'x-base: &base\n  image: shared\n  restart: always\nservices:\n  a:\n    <<: *base\n  b:\n    <<: *base\n    image: own\n',
    });
    const p = await loadProject(opts(root));
    assert.equal(p.services.a!.image, 'shared');
    assert.equal(p.services.b!.image, 'own');
    assert.equal(p.services.b!.restart, 'always');
    assert.deepEqual(p.extensions, { 'x-base': { image: 'shared', restart: 'always' } });
    const q = await loadProject(opts(tree({ 'compose.yaml': 'services:\n  a: {image: x, x-note: kept}\n' })));
    assert.deepEqual(q.services.a!.extensions, { 'x-note': 'kept' });
    assert.equal((q.services.a as unknown as Record<string, unknown>)['x-note'], undefined);
  });

  test('a key given twice is an error', async () => {
    const root = tree({ 'compose.yaml': 'services:\n  a: {image: x}\n  a: {image: y}\n' });
    await refused(loadProject(opts(root)), /^compose\.yaml: services: the key "a" is given twice \(line 3\)$/);
  });
});

describe('extends', () => {
  test('same file, other file, relative paths against the file that names them', async () => {
    const root = tree({
      'compose.yaml': `
services:
  base: {image: b, environment: {A: "1"}, volumes: ["./here:/here"]}
  child:
    extends: base
    environment: {B: "2"}
  remote:
    extends: {file: lib/common.yaml, service: tmpl}
    command: [own]
`,
      'lib/common.yaml': `
services:
  root: {image: r, env_file: vars.env, volumes: ["./data:/data"]}
  tmpl:
    extends: root
    build: ./ctx
    command: [theirs]
`,
      'lib/vars.env': 'V=1\n',
    });
    const p = await loadProject(opts(root));
    assert.deepEqual(p.services.child!.environment, { A: '1', B: '2' });
    assert.equal(p.services.child!.image, 'b');
    assert.equal(p.services.child!.volumes[0]!.source, join(root, 'here'));
    const r = p.services.remote!;
    assert.equal(r.image, 'r');
    assert.deepEqual(r.command, ['own']);
    assert.deepEqual(r.build, { context: join(root, 'lib/ctx'), dockerfile: 'Dockerfile' });
    assert.equal(r.volumes[0]!.source, join(root, 'lib/data'));
    assert.deepEqual(r.environment, { V: '1' });
    assert.equal((r as unknown as Record<string, unknown>).extends, undefined);
    assert.equal(p.services.tmpl, undefined, 'services of an extended file are not part of the project');
  });

  test('an unknown service and a circle are errors', async () => {
    await refused(loadProject(opts(tree({ 'compose.yaml': 'services:\n  a: {extends: nope}\n' }))), /services\.a\.extends: unknown service "nope"/);
    await refused(loadProject(opts(tree({ 'compose.yaml': 'services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n' }))), /circular extends: a -> b -> a/);
  });
});

describe('include', () => {
  test('an included file brings its services with its own relative paths; a service in both is an error', async () => {
    const root = tree({
      'compose.yaml': 'include:\n  - lib/db.yaml\nservices:\n  web: {image: w, depends_on: [db], volumes: ["./site:/site"]}\n',
      'lib/db.yaml': 'services:\n  db: {image: d, volumes: ["./seed:/seed", "data:/data"]}\nvolumes:\n  data: {}\n',
    });
    const p = await loadProject(opts(root));
    assert.deepEqual(Object.keys(p.services).sort(), ['db', 'web']);
    assert.equal(p.services.db!.volumes[0]!.source, join(root, 'lib/seed'));
    assert.equal(p.services.web!.volumes[0]!.source, join(root, 'site'));
    assert.equal(p.volumes.data!.name, `${p.name}_data`);
    const clash = tree({ 'compose.yaml': 'include: [other.yaml]\nservices:\n  db: {image: mine}\n', 'other.yaml': 'services:\n  db: {image: theirs}\n' });
    await refused(loadProject(opts(clash)), /^compose\.yaml: services\.db: conflicts with the service "db" that include brings in \(other\.yaml\)$/);
    const loop = tree({ 'compose.yaml': 'include: [b.yaml]\nservices: {}\n', 'b.yaml': 'include: [compose.yaml]\nservices: {}\n' });
    await refused(loadProject(opts(loop)), /include\[0\]: .*compose\.yaml includes itself/);
    const missing = tree({ 'compose.yaml': 'include: [nope.yaml]\nservices: {}\n' });
    await refused(loadProject(opts(missing)), /^compose\.yaml: include\[0\]: file .*nope\.yaml not found$/);
  });
});

describe('profiles', () => {
  const file = 'services:\n  web: {image: w, depends_on: [db]}\n  db: {image: d}\n  debug: {image: g, profiles: [dev], depends_on: [tools]}\n  tools: {image: t, profiles: [tools]}\n';

  test('services with profiles are off unless a profile is active', async () => {
    const root = tree({ 'compose.yaml': file });
    const p = await loadProject(opts(root));
    assert.deepEqual(Object.keys(p.services).sort(), ['db', 'web']);
    assert.deepEqual(Object.keys(p.disabledServices).sort(), ['debug', 'tools']);
    const q = await loadProject(opts(root, { profiles: ['dev'], env: { COMPOSE_PROFILES: 'tools' } }));
    assert.deepEqual(Object.keys(q.services).sort(), ['db', 'debug', 'tools', 'web']);
    const all = await loadProject(opts(root, { profiles: ['*'] }));
    assert.equal(Object.keys(all.disabledServices).length, 0);
  });

  test('naming a disabled service enables it; a disabled required dependency is an error then', async () => {
    const root = tree({ 'compose.yaml': file });
    const p = await loadProject(opts(root, { profiles: ['tools'] }));
    const q = activateServices(p, ['debug']);
    assert.ok(q.services.debug);
    const r = await loadProject(opts(root));
    assert.throws(() => activateServices(r, ['debug']), /service "debug" depends on service "tools", which is disabled by its profiles/);
    assert.throws(() => activateServices(r, ['nope']), /no such service: nope/);
  });
});

describe('the schema', () => {
  test('the generated validator is made from the schema as prepared now (else: node scripts/gen-compose-validator.mjs)', () => {
    assert.equal(SCHEMA_SHA256, composeSchemaForValidation().sha256);
  });
});

describe('references', () => {
  test('dependency cycles are named', () => {
    const s = (deps: string[]) => ({ depends_on: Object.fromEntries(deps.map((d) => [d, {}])) });
    assert.deepEqual(dependencyCycle({ a: s(['b']), b: s(['c']), c: s(['a']) }), ['a', 'b', 'c', 'a']);
    assert.deepEqual(dependencyCycle({ a: s(['a']) }), ['a', 'a']);
    assert.equal(dependencyCycle({ a: s(['b']), b: s([]), c: s(['a', 'b']) }), undefined);
  });

  for (const [what, body, want] of [
    ['unknown depends_on', 'services:\n  a: {image: x, depends_on: {zz: {condition: service_healthy}}}\n', /services\.a\.depends_on: unknown service "zz"/],
    ['unknown link', 'services:\n  a: {image: x, links: ["zz:alias"]}\n', /services\.a\.links\[0\]: unknown service "zz"/],
    ['cycle', 'services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n', /dependency cycle: a -> b -> a/],
    ['undeclared volume', 'services:\n  a: {image: x, volumes: ["v:/v"]}\n', /services\.a\.volumes\[0\]: volume "v" is not declared/],
    ['undeclared network', 'services:\n  a: {image: x, networks: [n]}\n', /services\.a\.networks: network "n" is not declared/],
    ['undeclared secret', 'services:\n  a: {image: x, secrets: [s]}\n', /services\.a\.secrets\[0\]: secret "s" is not declared/],
    ['no image', 'services:\n  a: {restart: always}\n', /services\.a: has neither an image nor a build context/],
    ['wrong type', 'services:\n  a: {image: x, ports: [[1]]}\n', /^compose\.yaml: services\.a\.ports\[0\]: must be a number, a string or a mapping$/],
    ['unknown key', 'services:\n  a: {image: x, imgae: y}\n', /^compose\.yaml: services\.a: unknown key "imgae"$/],
    ['unknown top-level key', 'servics: {}\n', /^compose\.yaml: unknown top-level key "servics"/],
    ['invalid service name', 'services:\n  "we b": {image: x}\n', /^compose\.yaml: services: invalid name "we b"/],
    ['a string for a map', 'services:\n  a: {image: x, environment: "A=1"}\n', /^compose\.yaml: services\.a\.environment: must be a mapping or a list$/],
  ] as const) {
    test(what, async () => refused(loadProject(opts(tree({ 'compose.yaml': body }))), want));
  }
});

describe('files and names', () => {
  test('found in a parent directory; the project directory is the file\'s', async () => {
    const root = tree({ 'My Proj/docker-compose.yml': 'services:\n  a: {image: x}\n', 'My Proj/deep/er/.keep': '' });
    const p = await loadProject(opts(join(root, 'My Proj/deep/er')));
    assert.equal(p.name, 'myproj');
    assert.equal(p.workingDir, join(root, 'My Proj'));
  });

  test('name precedence: -p, COMPOSE_PROJECT_NAME, name:, directory', async () => {
    const root = tree({ 'compose.yaml': 'name: fromfile\nservices:\n  a: {image: x}\n', '.env': 'COMPOSE_PROJECT_NAME=fromdotenv\n' });
    assert.equal((await loadProject(opts(root, { projectName: 'flag', env: { COMPOSE_PROJECT_NAME: 'env' } }))).name, 'flag');
    assert.equal((await loadProject(opts(root, { env: { COMPOSE_PROJECT_NAME: 'env' } }))).name, 'env');
    assert.equal((await loadProject(opts(root))).name, 'fromdotenv');
    const bare = tree({ 'compose.yaml': 'name: fromfile\nservices:\n  a: {image: x}\n' });
    assert.equal((await loadProject(opts(bare))).name, 'fromfile');
    await refused(loadProject(opts(bare, { projectName: 'Not_Valid' })), /invalid project name "Not_Valid" \(-p\)/);
  });

  test('COMPOSE_FILE with the path separator, and -f - from stdin', async () => {
    const root = tree({ 'one.yaml': 'services:\n  a: {image: one}\n', 'two.yaml': 'services:\n  a: {image: two}\n' });
    const p = await loadProject(opts(root, { env: { COMPOSE_FILE: 'one.yaml:two.yaml' } }));
    assert.equal(p.services.a!.image, 'two');
    const s = await loadProject(opts(root, { files: ['-'], stdin: async () => 'services:\n  a: {image: stdin}\n' }));
    assert.equal(s.services.a!.image, 'stdin');
    assert.equal(s.workingDir, root);
  });

  test('nothing found, or a missing -f file', async () => {
    const root = tree({ 'empty/.keep': '' });
    await refused(loadProject(opts(join(root, 'empty'), { projectDirectory: join(root, 'empty') , files: ['nope.yaml'] })), /no such file/);
  });
});
