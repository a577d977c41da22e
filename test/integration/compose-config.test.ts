import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Sandbox, type Result } from '../helpers.js';

// Issue 14 (compose, loading): `rootlet compose config` prints the model
// the files resolve to (interpolation, extends, several -f, profiles), and
// an invalid file fails with exit 1 (docker compose's status for a
// configuration error) and one line naming the file and the path in it.
// No container is involved: config never opens the store.

describe('compose config', () => {
  const sb = new Sandbox('compose-config');
  after(() => sb.destroy());
  let n = 0;

  /** A fresh project directory with these files (path → text). */
  function project(files: Record<string, string>): string {
    const dir = sb.path(`p${++n}`);
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
    return dir;
  }

  function configError(r: Result, want: RegExp, what: string): void {
    assert.equal(r.code, 1, `${what}: exit ${r.code}: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
    assert.ok(!r.stderr.includes('    at '), `${what}: ${r.stderr}`);
    assert.match(lines[0]!, /^Error: /, what);
    assert.match(lines[0]!, want, what);
    assert.equal(r.stdout, '', what);
  }

  test('interpolation: every operator, $$, the environment over .env', () => {
    const dir = project({
      'compose.yaml': [
        'name: interp',
        'services:',
        '  web:',
        '    image: "web:${TAG:-latest}"',
        '    command: echo "$${HOME}" ${GREETING:-hi} ${NESTED:-${INNER:-deep}}',
        '    environment:',
        '      FROM_DOTENV: ${DOTENV_ONLY}',
        '      OVERRIDDEN: ${BOTH}',
        '      DASH: ${MODE-dev}',
        '      PLUS: ${SET_EXTRA:+yes}',
        '      EMPTY_PLUS: ${EMPTY+set}',
        '      REQUIRED: ${BOTH:?needed}',
        '    ports:',
        '      - "${PORT:-8080}:80"',
        '',
      ].join('\n'),
      '.env': 'DOTENV_ONLY=dotenv\nBOTH=from-dotenv\nEMPTY=\n',
    });
    const out = sb.ok(['compose', 'config'], { cwd: dir, env: { TAG: '1.2', BOTH: 'from-env', SET_EXTRA: 'x' } });
    assert.equal(out, `name: interp
services:
  web:
    command:
      - echo
      - \${HOME}
      - hi
      - deep
    environment:
      DASH: dev
      EMPTY_PLUS: set
      FROM_DOTENV: dotenv
      OVERRIDDEN: from-env
      PLUS: "yes"
      REQUIRED: from-env
    image: web:1.2
    networks:
      default: null
    ports:
      - mode: ingress
        target: 80
        published: "8080"
        protocol: tcp
networks:
  default:
    name: interp_default
`);
  });

  test('extends (same file and another file, paths relative to it) and several -f files', () => {
    const dir = project({
      'compose.yaml': [
        'name: layered',
        'services:',
        '  base:',
        '    image: base:1',
        '    environment: {A: "1"}',
        '  child:',
        '    extends: base',
        '    environment: {B: "2"}',
        '    depends_on: [db]',
        '  db:',
        '    extends: {file: lib/base.yaml, service: store}',
        '    ports: ["6379:6379"]',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
      'lib/base.yaml': 'services:\n  store:\n    image: redis:7\n    volumes: ["./seed:/seed:ro", "data:/data"]\n    healthcheck: {test: redis-cli ping, interval: 2s}\n',
      'override.yaml': 'services:\n  db:\n    image: redis:8\n    ports: ["127.0.0.1:6380:6379"]\n  child:\n    command: [run, it]\n',
    });
    const out = sb.ok(['compose', '-f', 'compose.yaml', '-f', 'override.yaml', 'config'], { cwd: dir });
    assert.equal(out, `name: layered
services:
  base:
    environment:
      A: "1"
    image: base:1
    networks:
      default: null
  child:
    command:
      - run
      - it
    depends_on:
      db:
        condition: service_started
        required: true
        restart: false
    environment:
      A: "1"
      B: "2"
    image: base:1
    networks:
      default: null
  db:
    healthcheck:
      test:
        - CMD-SHELL
        - redis-cli ping
      interval: 2s
    image: redis:8
    networks:
      default: null
    ports:
      - mode: ingress
        target: 6379
        published: "6379"
        protocol: tcp
      - mode: ingress
        host_ip: 127.0.0.1
        target: 6379
        published: "6380"
        protocol: tcp
    volumes:
      - type: bind
        source: ${join(dir, 'lib/seed')}
        target: /seed
        read_only: true
        bind:
          create_host_path: true
      - type: volume
        source: data
        target: /data
networks:
  default:
    name: layered_default
volumes:
  data:
    name: layered_data
`);
    assert.equal(sb.ok(['compose', '-f', 'compose.yaml', '-f', 'override.yaml', 'config', '--services'], { cwd: dir }), 'base\nchild\ndb\n');
    assert.equal(sb.ok(['compose', '-f', 'compose.yaml', 'config', '--volumes'], { cwd: dir }), 'data\n');
    assert.equal(sb.ok(['compose', '-f', 'compose.yaml', 'config', '--images'], { cwd: dir }), 'base:1\nbase:1\nredis:7\n');
    const json = JSON.parse(sb.ok(['compose', 'config', '--format', 'json'], { cwd: dir })) as { services: Record<string, { image: string }> };
    assert.equal(json.services.db!.image, 'redis:7');
    assert.equal(sb.ok(['compose', 'config', '-q'], { cwd: dir }), '');
  });

  test('profiles: --profile, COMPOSE_PROFILES, and --profiles lists them all', () => {
    const dir = project({
      'compose.yaml': 'name: prof\nservices:\n  web: {image: w}\n  debug: {image: d, profiles: [dev]}\n  tools: {image: t, profiles: [tools, dev]}\n',
    });
    assert.equal(sb.ok(['compose', 'config', '--services'], { cwd: dir }), 'web\n');
    assert.equal(sb.ok(['compose', '--profile', 'tools', 'config', '--services'], { cwd: dir }), 'tools\nweb\n');
    assert.equal(sb.ok(['compose', 'config', '--services'], { cwd: dir, env: { COMPOSE_PROFILES: 'dev' } }), 'debug\ntools\nweb\n');
    assert.equal(sb.ok(['compose', 'config', '--profiles'], { cwd: dir }), 'dev\ntools\n');
    assert.equal(sb.ok(['compose', '--profile', 'tools', 'config'], { cwd: dir }), `name: prof
services:
  tools:
    image: t
    networks:
      default: null
    profiles:
      - tools
      - dev
  web:
    image: w
    networks:
      default: null
networks:
  default:
    name: prof_default
`);
  });

  test('files are found from a subdirectory; COMPOSE_FILE, COMPOSE_PROJECT_NAME and -p in their order', () => {
    const dir = project({
      'compose.yaml': 'services:\n  a: {image: found}\n',
      'alt.yaml': 'services:\n  a: {image: alt}\n',
      'deep/er/.keep': '',
    });
    const sub = join(dir, 'deep/er');
    const found = sb.ok(['compose', 'config', '--images'], { cwd: sub });
    assert.equal(found, 'found\n');
    // The project is named after the directory of the file, not the one we stand in.
    assert.match(sb.ok(['compose', 'config'], { cwd: sub }), new RegExp(`^name: p${n}\n`));
    assert.equal(sb.ok(['compose', 'config', '--images'], { cwd: dir, env: { COMPOSE_FILE: 'alt.yaml' } }), 'alt\n');
    assert.equal(sb.ok(['compose', 'config', '--images'], { cwd: dir, env: { COMPOSE_FILE: 'compose.yaml:alt.yaml' } }), 'alt\n');
    assert.match(sb.ok(['compose', 'config'], { cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' } }), /^name: fromenv\n/);
    assert.match(sb.ok(['compose', '-p', 'fromflag', 'config'], { cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' } }), /^name: fromflag\n/);
    assert.match(sb.ok(['compose', '-f', '-', 'config'], { cwd: dir, input: 'name: piped\nservices:\n  a: {image: stdin}\n' }), /^name: piped\n[^]*image: stdin\n/);
    configError(sb.run(['compose', '-p', 'Bad Name', 'config'], { cwd: dir }), /invalid project name "Bad Name" \(-p\)/, 'invalid -p');
    configError(sb.run(['compose', '-f', 'missing.yaml', 'config'], { cwd: dir }), /missing\.yaml: no such file or directory/, 'missing -f');
  });

  test('invalid files: exit 1, one line naming the file and the path', () => {
    const cases: [string, string, RegExp][] = [
      ['wrong type', 'services:\n  web:\n    image: x\n    ports:\n      - [80]\n', /^Error: compose\.yaml: services\.web\.ports\[0\]: must be a number, a string or a mapping$/],
      ['wrong scalar type', 'services:\n  web:\n    image: x\n    read_only: [1]\n', /^Error: compose\.yaml: services\.web\.read_only: must be a boolean$/],
      ['unknown top-level key', 'services:\n  web: {image: x}\nservice: {}\n', /^Error: compose\.yaml: unknown top-level key "service"/],
      ['unknown service key', 'services:\n  web: {image: x, imagee: y}\n', /^Error: compose\.yaml: services\.web: unknown key "imagee"$/],
      ['missing required variable', 'services:\n  web:\n    image: ${IMAGE:?set IMAGE to the web image}\n', /^Error: compose\.yaml: services\.web\.image: required variable IMAGE is missing a value: set IMAGE to the web image$/],
      ['cycle', 'services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n', /^Error: compose\.yaml: services\.a\.depends_on: dependency cycle: a -> b -> c -> a$/],
      ['unknown service in depends_on', 'services:\n  a: {image: x, depends_on: {nope: {condition: service_healthy}}}\n', /^Error: compose\.yaml: services\.a\.depends_on: unknown service "nope"$/],
      ['undeclared volume', 'services:\n  a: {image: x, volumes: ["data:/d"]}\n', /^Error: compose\.yaml: services\.a\.volumes\[0\]: volume "data" is not declared/],
      ['a key twice', 'services:\n  a: {image: x}\n  a: {image: y}\n', /^Error: compose\.yaml: services: the key "a" is given twice \(line 3\)$/],
      ['bad YAML', 'services:\n  a: [\n', /^Error: compose\.yaml: /],
      ['bad port', 'services:\n  a: {image: x, ports: ["80/sctp"]}\n', /^Error: compose\.yaml: services\.a\.ports\[0\]: invalid protocol "sctp"/],
    ];
    for (const [what, text, want] of cases) {
      const dir = project({ 'compose.yaml': text });
      configError(sb.run(['compose', 'config'], { cwd: dir }), want, what);
    }
    // A refusal leaves nothing behind: config never opens the store.
    assert.ok(!existsSync(sb.path('data/rootlet')), 'compose config created a store');
  });

  test('no compose file anywhere up the tree', () => {
    // / has no compose file on a test machine; a directory outside any project, below it.
    const r = sb.run(['compose', 'config'], { cwd: '/usr/share' });
    configError(r, /^Error: no configuration file provided: not found/, 'nothing found');
  });
});
