import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';

/**
 * Issue 16, start-up: the CLI bundle loads node's costly built-ins and the
 * libraries of compose, kube and build at their first use (scripts/build.mjs),
 * so a command that only reads the store starts without them. A `--require`
 * hook records the built-ins each command asks the module loader for and the
 * library files it reads.
 */
describe('start-up: what a command loads', () => {
  const sb = new Sandbox('cli-startup');
  const hook = sb.path('record-loads.cjs');
  const record = sb.path('loads.txt');
  const watched = /^(node:)?(child_process|crypto|net|dgram|http|https|tls|zlib|stream)$|rootlet-lib-/;

  /** Runs rootlet with the hook; returns the watched modules it loaded. */
  const loads = (args: string[], opts: { cwd?: string; input?: string } = {}): string[] => {
    rmSync(record, { force: true });
    const r = sb.run(args, { ...opts, env: { NODE_OPTIONS: `--require=${hook}`, ROOTLET_LOAD_RECORD: record } });
    assert.equal(r.code, 0, `rootlet ${args.join(' ')}: ${r.stderr}`);
    let text = '';
    try {
      text = readFileSync(record, 'utf8');
    } catch {
      // nothing watched was loaded
    }
    return [...new Set(text.split('\n').filter(Boolean))].sort();
  };

  before(() => {
    // Built-ins through the module loader; the libraries as files the loader reads (src/loader.ts).
    writeFileSync(hook, `const Module = require('node:module');
const fs = require('node:fs');
const watched = ${watched.toString()};
const note = (what) => { if (watched.test(what)) fs.appendFileSync(process.env.ROOTLET_LOAD_RECORD, what.replace(/^node:/, '').replace(/^.*(rootlet-lib-[a-z-]+).*$/, '$1') + '\\n'); };
const load = Module._load;
Module._load = function (request, ...rest) { note(request); return load.call(this, request, ...rest); };
const read = fs.readFileSync;
fs.readFileSync = function (path, ...rest) { if (typeof path === 'string') note(path); return read.call(this, path, ...rest); };
`);
    sb.importBusybox();
    sb.ok(['run', '--name', 'done', '--net', 'none', 'busybox', 'echo', 'hello']);
  });
  after(() => sb.destroy());

  test('ps, inspect, logs and images of an exited container load none of them', () => {
    for (const args of [['ps', '-a'], ['inspect', 'done'], ['logs', '--tail', '1', 'done'], ['images'], ['container', 'ls', '-a', '--format', '{{.Names}}']]) {
      assert.deepEqual(loads(args), [], `rootlet ${args.join(' ')}`);
    }
  });

  test('a command after global options has a code cache of its own, as without them (src/loader.ts)', () => {
    const cache = sb.path('code-cache');
    const env = { XDG_CACHE_HOME: cache };
    for (const args of [['-D', '--log-level=error', 'ps', '-a'], ['--log-level', 'error', 'inspect', 'done']]) {
      assert.equal(sb.run(args, { env }).code, 0, args.join(' '));
    }
    const names = readdirSync(`${cache}/rootlet/code`).map((n) => n.replace(/^.*-/, '')).sort();
    assert.deepEqual(names, ['inspect.v8', 'ps.v8']);
  });

  test('compose, build and kube load their libraries when they run', () => {
    writeFileSync(sb.path('compose.yaml'), 'services:\n  web:\n    image: busybox\n');
    const compose = loads(['compose', 'config'], { cwd: sb.root });
    assert.ok(compose.includes('rootlet-lib-yaml') && compose.includes('rootlet-lib-compose-schema'), compose.join(' '));
    writeFileSync(sb.path('Containerfile'), 'FROM busybox\nENV GREETING=hi\n');
    assert.ok(loads(['build', '-q', '-t', 'startup-built', sb.root]).includes('rootlet-lib-dockerfile'));
    writeFileSync(sb.path('pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: startup\nspec:\n  containers:\n  - name: c\n    image: busybox\n    command: ["true"]\n');
    const kube = loads(['kube', 'play', sb.path('pod.yaml')]);
    assert.ok(kube.includes('rootlet-lib-kube') && kube.includes('rootlet-lib-yaml'), kube.join(' '));
    sb.ok(['kube', 'play', '--down', sb.path('pod.yaml')]);
  });
});
