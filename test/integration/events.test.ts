import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sandbox, until } from '../helpers.js';
import { startRegistry } from '../registry-helpers.js';

/** One `rootlet events` line, parsed back: Docker's `TIME TYPE ACTION ID (k=v, ...)`. */
interface Line {
  time: string;
  type: string;
  action: string;
  id: string;
  attrs: Record<string, string>;
}

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) (\S+) (\S+) (\S+)(?: \((.*)\))?$/;

function parseLines(out: string): Line[] {
  return out.split('\n').filter(Boolean).map((l) => {
    const m = LINE.exec(l);
    assert.ok(m, `not an event line: ${l}`);
    const attrs = Object.fromEntries((m[5] ?? '').split(', ').filter(Boolean).map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)];
    }));
    return { time: m[1]!, type: m[2]!, action: m[3]!, id: m[4]!, attrs };
  });
}

/** A Unix time with milliseconds, as --since and --until take it. */
const unix = (ms = Date.now()) => (ms / 1000).toFixed(3);

describe('events', () => {
  const sb = new Sandbox('events');
  let t0: string;

  before(() => {
    t0 = unix();
    sb.importBusybox();
  });
  after(() => sb.destroy());

  /** The stored events from t0 until now, with more flags. */
  const past = (...args: string[]) => sb.ok(['events', '--since', t0, '--until', unix(), ...args]);
  const lines = (...args: string[]) => parseLines(past(...args));
  const actionsOf = (name: string) => lines('--filter', `container=${name}`).map((l) => l.action);

  test('import is an image event with the image id and its name', () => {
    const imp = lines('--filter', 'type=image', '--filter', 'event=import');
    assert.equal(imp.length, 1);
    assert.match(imp[0]!.id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(imp[0]!.attrs, { name: 'busybox:latest' });
  });

  test('a foreground run --rm is create, start, die (with its exit code) and destroy, in that order', () => {
    assert.equal(sb.run(['run', '--rm', '--name', 'once', '--label', 'team=blue', 'busybox', 'sh', '-c', 'exit 3']).code, 3);
    const got = lines('--filter', 'container=once');
    assert.deepEqual(got.map((l) => l.action), ['create', 'start', 'die', 'destroy']);
    assert.match(got[0]!.id, /^[0-9a-f]{64}$/);
    assert.ok(got.every((l) => l.id === got[0]!.id && l.type === 'container'));
    assert.deepEqual(got[2]!.attrs, { exitCode: '3', image: 'busybox', name: 'once', team: 'blue' });
  });

  test('a detached run --rm dies and is destroyed through its exit hook', async () => {
    sb.ok(['run', '-d', '--rm', '--name', 'bg', 'busybox', 'true']);
    await until('the exit hook to remove bg', () => actionsOf('bg').includes('destroy'), 60_000);
    assert.deepEqual(actionsOf('bg'), ['create', 'start', 'die', 'destroy']);
    assert.equal(lines('--filter', 'container=bg', '--filter', 'event=die')[0]!.attrs.exitCode, '0');
  });

  test('stop is the stop signal as a kill event, one die, and stop; kill -s names its signal by number', async () => {
    sb.ok(['run', '-d', '--name', 'st', 'busybox', 'sh', '-c', 'trap "exit 143" TERM; while :; do sleep 0.1; done']);
    sb.ok(['stop', 'st']);
    await until('st to die', () => actionsOf('st').includes('die'), 60_000);
    const st = lines('--filter', 'container=st');
    assert.deepEqual(st.map((l) => l.action), ['create', 'start', 'kill', 'die', 'stop']);
    assert.equal(st[2]!.attrs.signal, '15');
    assert.equal(st[3]!.attrs.exitCode, '143');

    sb.ok(['run', '-d', '--name', 'kl', 'busybox', 'sleep', '1000']);
    sb.ok(['kill', '-s', 'USR1', 'kl']);
    sb.ok(['kill', 'kl']);
    await until('kl to die', () => actionsOf('kl').includes('die'), 60_000);
    const kl = lines('--filter', 'container=kl', '--filter', 'event=kill', '--filter', 'event=die');
    assert.deepEqual(kl.map((l) => `${l.action} ${l.attrs.signal ?? l.attrs.exitCode}`), ['kill 10', 'kill 9', 'die 137']);
    sb.ok(['rm', 'kl', 'st']);
    assert.deepEqual(lines('--filter', 'event=destroy', '--filter', 'container=kl').length, 1);
  });

  test('a restart policy restart is die, restart, start', async () => {
    sb.ok(['run', '-d', '--name', 'rs', '--restart', 'on-failure:1', 'busybox', 'sh', '-c', 'exit 4']);
    await until('rs to die twice', () => actionsOf('rs').filter((a) => a === 'die').length === 2, 60_000);
    assert.deepEqual(actionsOf('rs'), ['create', 'start', 'die', 'restart', 'start', 'die']);
    sb.ok(['rm', 'rs']);
  });

  test('rename names the old name', () => {
    sb.ok(['create', '--name', 'before', 'busybox', 'true']);
    sb.ok(['rename', 'before', 'after']);
    const r = lines('--filter', 'event=rename');
    assert.equal(r.length, 1);
    assert.equal(r[0]!.attrs.name, 'after');
    assert.equal(r[0]!.attrs.oldName, 'before');
    sb.ok(['rm', 'after']);
  });

  test('tag and untag are image events with the image id and the name', () => {
    const id = sb.ok(['images', '--no-trunc', '--format', '{{.ID}}', 'busybox']).trim();
    sb.ok(['tag', 'busybox', 'mine:1']);
    sb.ok(['rmi', 'mine:1']);
    const got = lines('--filter', 'image=mine');
    assert.deepEqual(got.map((l) => `${l.action} ${l.id} ${l.attrs.name}`), [`tag ${id} mine:1`, `untag ${id} mine:1`]);
  });

  test('push and pull are recorded by reference; load, and the delete of an image by its id', async () => {
    const mark = unix();
    const since = (...args: string[]) => parseLines(sb.ok(['events', '--since', mark, '--until', unix(), '--filter', 'type=image', ...args]));
    const reg = await startRegistry();
    try {
      const name = `${reg.host}/ev/busybox:1`;
      sb.ok(['push', '--tls-verify=false', 'busybox', name]);
      sb.ok(['pull', '--tls-verify=false', name]);
      assert.deepEqual(since().map((l) => `${l.action} ${l.id} ${l.attrs.name}`), [`push ${name} ${name}`, `pull ${name} ${name}`]);
    } finally {
      reg.stop();
    }
    sb.ok(['save', '-o', sb.path('ev.tar'), 'busybox']);
    const solo = sb.importBusybox('solo');
    sb.ok(['rmi', 'solo']);
    sb.ok(['load', '-i', sb.path('ev.tar')]);
    const got = since('--filter', 'event=untag', '--filter', 'event=delete', '--filter', 'event=load');
    const busybox = sb.ok(['images', '--no-trunc', '--format', '{{.ID}}', 'busybox']).trim();
    assert.deepEqual(got.map((l) => `${l.action} ${l.id} ${l.attrs.name}`), [`untag ${solo} solo:latest`, `delete ${solo} ${solo}`, `load ${busybox} busybox:latest`]);
  });

  test('network create, connect, disconnect and destroy name the network, its driver and the container', () => {
    sb.ok(['network', 'create', 'evnet']);
    const ctr = sb.ok(['create', '--name', 'netc', 'busybox', 'true']).trim();
    sb.ok(['network', 'connect', 'evnet', 'netc']);
    sb.ok(['network', 'disconnect', 'evnet', 'netc']);
    sb.ok(['network', 'rm', 'evnet']);
    const got = lines('--filter', 'network=evnet');
    assert.deepEqual(got.map((l) => l.action), ['create', 'connect', 'disconnect', 'destroy']);
    assert.ok(got.every((l) => l.type === 'network' && l.attrs.name === 'evnet' && l.attrs.type === 'bridge'));
    assert.equal(got[1]!.attrs.container, ctr);
    sb.ok(['rm', 'netc']);
  });

  test('--since and --until select a window (Unix times, RFC 3339 times, durations)', () => {
    sb.ok(['create', '--name', 'w1', 'busybox', 'true']);
    const between = Date.now();
    sb.ok(['create', '--name', 'w2', 'busybox', 'true']);
    const names = (out: string) => parseLines(out).filter((l) => l.action === 'create').map((l) => l.attrs.name);
    assert.deepEqual(names(sb.ok(['events', '--since', t0, '--until', unix(between), '--filter', 'container=w1', '--filter', 'container=w2'])), ['w1']);
    assert.deepEqual(names(sb.ok(['events', '--since', new Date(between).toISOString(), '--until', unix(), '--filter', 'container=w1', '--filter', 'container=w2'])), ['w2']);
    assert.deepEqual(names(sb.ok(['events', '--since', '10m', '--until', '0s', '--filter', 'event=create', '--filter', 'container=w2'])), ['w2']);
    sb.ok(['rm', 'w1', 'w2']);
  });

  test("--filter: values of one key OR, keys AND; image= matches containers by their image", () => {
    const types = new Set(lines('--filter', 'type=network', '--filter', 'type=image').map((l) => l.type));
    assert.deepEqual([...types].sort(), ['image', 'network']);
    const byImage = lines('--filter', 'image=busybox', '--filter', 'event=create');
    assert.ok(byImage.length >= 5 && byImage.every((l) => l.type === 'container' && l.attrs.image === 'busybox'));
    assert.deepEqual(lines('--filter', 'container=once', '--filter', 'event=die').map((l) => l.attrs.exitCode), ['3']);
    assert.equal(past('--filter', 'container=nosuch'), '');
  });

  test("--format '{{json .}}' prints Docker's message; a template sees its Go fields", () => {
    const json = past('--filter', 'container=once', '--filter', 'event=die', '--format', '{{json .}}').trim();
    const m = JSON.parse(json) as Record<string, unknown>;
    assert.deepEqual(Object.keys(m), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
    assert.equal(m.Type, 'container');
    assert.equal(m.Action, 'die');
    assert.equal(m.status, 'die');
    assert.equal(m.from, 'busybox');
    assert.equal(m.scope, 'local');
    assert.equal((m.Actor as { Attributes: Record<string, string> }).Attributes.exitCode, '3');
    assert.equal(m.time, Math.floor((m.timeNano as number) / 1e9));
    assert.equal(past('--filter', 'container=once', '--format', 'json'), past('--filter', 'container=once', '--format', '{{json .}}'));
    assert.equal(past('--filter', 'container=once', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Status}}'),
      'container create once create\ncontainer start once start\ncontainer die once die\ncontainer destroy once destroy\n');
    const bad = sb.run(['events', '--until', '0s', '--format', '{{.Nope}}', '--since', t0]);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  });

  test('without --until it follows: new events print as they happen, and Ctrl-C ends it with status 0', async () => {
    const mark = unix();
    sb.ok(['create', '--name', 'f0', 'busybox', 'true']);
    const child = sb.spawn(['events', '--since', mark, '--filter', 'type=container', '--filter', 'event=create']);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      // The replayed event says the stream is reading: what comes next must arrive by following.
      await until('the replayed create of f0', () => out.includes('name=f0'), 60_000);
      sb.ok(['create', '--name', 'f1', 'busybox', 'true']);
      await until('the followed create of f1', () => out.includes('name=f1'), 60_000);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, err);
    assert.equal(err, '');
    assert.deepEqual(parseLines(out).map((l) => l.attrs.name), ['f0', 'f1']);
    sb.ok(['rm', 'f0', 'f1']);
  });

  test('an --until still ahead follows until it passes, then ends by itself', () => {
    const r = sb.run(['events', '--since', t0, '--until', unix(Date.now() + 1500), '--filter', 'event=rename'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseLines(r.stdout).length, 1);
  });

  test('bad input is one line: a time that is not one, a filter without =, exit 125; an unknown filter, exit 1', () => {
    const since = sb.run(['events', '--since', 'yesterday']);
    assert.equal(since.code, 125);
    assert.match(since.stderr, /^Error: invalid argument "yesterday" for "--since" flag: not a time[^\n]*\n$/);
    const fmt = sb.run(['events', '--filter', 'nokey']);
    assert.equal(fmt.code, 125);
    assert.match(fmt.stderr, /^Error: invalid argument "nokey" for "-f, --filter" flag: bad format of filter \(expected name=value\)\n$/);
    const key = sb.run(['events', '--filter', 'colour=red']);
    assert.equal(key.code, 1);
    assert.equal(key.stderr, "Error: invalid filter 'colour': use one of container, event, image, label, network, type, volume\n");
    const order = sb.run(['events', '--since', '1m', '--until', '2m']);
    assert.equal(order.code, 1);
    assert.match(order.stderr, /^Error: the since time .* is after the until time/);
  });
});
