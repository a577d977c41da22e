import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox, shq } from '../helpers.js';
import { waitFor } from '../lifecycle-helpers.js';
import { makeImage, pushRaw, startRegistry, type Registry } from '../registry-helpers.js';

// Issue 12 item 6 (and item 4's Ctrl-P Ctrl-Q): what a user sees on a real
// terminal. rootlet runs in a pseudo-terminal made by script(1), 80 columns
// wide; what it writes is played on a small model of a terminal (cursor
// moves, line erase, wrap at the last column) to count the rows it leaves.

const COLUMNS = 80;

/** Plays terminal output on an 80-column screen with unlimited scrollback; returns the rows as shown. */
function screen(out: string, columns = COLUMNS): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let pendingWrap = false;
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (c === '\x1b') {
      const m = /^\x1b\[(\??[0-9;]*)([A-Za-z])/.exec(out.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      const n = Number(m[1]) || 1;
      if (m[2] === 'A') { row = Math.max(0, row - n); pendingWrap = false; }
      if (m[2] === 'K') rows[row] = m[1] === '2' ? [] : rows[row]!.slice(0, col);
      continue;
    }
    if (c === '\r') { col = 0; pendingWrap = false; continue; }
    if (c === '\n') {
      row++;
      pendingWrap = false;
      rows[row] ??= [];
      continue;
    }
    if (c < ' ') continue;
    if (pendingWrap) {
      row++;
      col = 0;
      pendingWrap = false;
      rows[row] ??= [];
    }
    rows[row]![col] = c;
    if (col === columns - 1) pendingWrap = true;
    else col++;
  }
  return rows.map((r) => Array.from(r, (ch) => ch ?? ' ').join('').trimEnd());
}

/** Runs rootlet in a pseudo-terminal of `columns` columns; `feed` may write to its input once output appears. */
function inPty(sb: Sandbox, args: string[], o: { columns?: number; env?: NodeJS.ProcessEnv } = {}) {
  const quoted = [process.execPath, '--', BIN, ...args].map(shq).join(' ');
  const child = spawn('script', ['-qfec', `stty cols ${o.columns ?? COLUMNS} rows 40; exec ${quoted}`, '/dev/null'], {
    env: { ...sb.env, TERM: 'xterm', ...o.env }, cwd: sb.root, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  const done = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return { child, out: () => out, done };
}

describe('on a terminal', () => {
  const sb = new Sandbox('terminal');
  let reg: Registry;
  const goarch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[arch()] ?? arch();

  before(async () => {
    sb.importBusybox();
    reg = await startRegistry();
    // Four layers of incompressible bytes, large enough to report progress as they come.
    const tars = [0, 1, 2, 3].map((i) => {
      const dir = sb.path(`layer${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, `blob${i}`), randomBytes(3 << 20));
      return spawnSync('tar', ['-cf', '-', '-C', dir, '.'], { maxBuffer: 64 << 20 }).stdout;
    });
    await pushRaw(reg.host, 'four', 'layers', makeImage(tars, { architecture: goarch }));
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  test('pull at 80 columns: one row per layer plus the summary, none wider than the terminal', async () => {
    const p = inPty(sb, ['pull', '--tls-verify=false', `${reg.host}/four:layers`]);
    assert.equal(await p.done, 0, p.out());
    // The bars were drawn (the first progress of a layer always is), and redrawn over.
    assert.match(p.out(), /Downloading \[/);
    const rows = screen(p.out()).filter((r) => r !== '');
    // "layers: Pulling from four", four layer rows, "Digest:", "Status:", the name.
    assert.ok(rows.length <= 4 + 4, `${rows.length} rows:\n${rows.join('\n')}`);
    assert.equal(rows.filter((r) => /^[0-9a-f]{12}: /.test(r)).length, 4, rows.join('\n'));
    assert.ok(rows.filter((r) => /^[0-9a-f]{12}: /.test(r)).every((r) => /Pull complete$/.test(r)), rows.join('\n'));
    for (const r of rows) assert.ok(r.length < COLUMNS, `too wide: ${r}`);
    sb.ok(['rmi', `${reg.host}/four:layers`]);
  });

  test('pull colours a finished layer on a terminal; NO_COLOR and a pipe have none', async () => {
    const coloured = inPty(sb, ['pull', '--tls-verify=false', `${reg.host}/four:layers`]);
    assert.equal(await coloured.done, 0);
    assert.match(coloured.out(), /\x1b\[32mPull complete/);
    sb.ok(['rmi', `${reg.host}/four:layers`]);
    const plain = inPty(sb, ['pull', '--tls-verify=false', `${reg.host}/four:layers`], { env: { NO_COLOR: '1' } });
    assert.equal(await plain.done, 0);
    assert.doesNotMatch(plain.out(), /\x1b\[3\dm/);
    sb.ok(['rmi', `${reg.host}/four:layers`]);
    const piped = sb.ok(['pull', '--tls-verify=false', `${reg.host}/four:layers`]);
    assert.doesNotMatch(piped, /\x1b/);
    assert.equal(piped.split('\n').filter((l) => /: Pull complete$/.test(l)).length, 4);
  });

  test('push at 80 columns: a row per blob, redrawn in place as it uploads', async () => {
    // Another registry: the blobs are uploaded, not mounted from a repository that has them.
    const other = await startRegistry();
    try {
      sb.ok(['pull', '--tls-verify=false', `${reg.host}/four:layers`]);
      const p = inPty(sb, ['push', '--tls-verify=false', `${reg.host}/four:layers`, `${other.host}/four:copy`]);
      assert.equal(await p.done, 0, p.out());
      const rows = screen(p.out()).filter((r) => r !== '');
      const blobs = rows.filter((r) => /^[0-9a-f]{12}: /.test(r));
      // The four layers and the config, each "Pushed" in the end.
      assert.equal(blobs.length, 5, rows.join('\n'));
      assert.ok(blobs.every((r) => /: Pushed$/.test(r) && r.length < COLUMNS), rows.join('\n'));
      // The header, the blobs, and Docker's digest line (wider than 80 columns: it wraps once).
      assert.ok(rows.length <= 1 + 5 + 2, rows.join('\n'));
    } finally {
      other.stop();
    }
  });

  test('save -o and load -i at 80 columns: one progress row each, on stderr; none through a pipe', async () => {
    const file = sb.path('four.tar');
    const s = inPty(sb, ['save', '-o', file, `${reg.host}/four:layers`]);
    assert.equal(await s.done, 0, s.out());
    const saved = screen(s.out()).filter((r) => r !== '');
    assert.equal(saved.length, 1, saved.join('\n'));
    assert.match(saved[0]!, /^Writing \d+(\.\d+)?MB$/);
    sb.ok(['rmi', `${reg.host}/four:layers`]);
    const l = inPty(sb, ['load', '-i', file]);
    assert.equal(await l.done, 0, l.out());
    const loaded = screen(l.out()).filter((r) => r !== '');
    assert.equal(loaded.length, 2, loaded.join('\n'));
    assert.match(loaded[0]!, /^Loading \[=+>?\] +\d+(\.\d+)?MB\/\d+(\.\d+)?MB$/);
    assert.ok(loaded[0]!.length < COLUMNS, loaded[0]);
    assert.equal(loaded[1], `Loaded image: ${reg.host}/four:layers`);
    const piped = sb.run(['load', '-i', file]);
    assert.equal(piped.stderr, '');
    assert.equal(piped.stdout, `Loaded image: ${reg.host}/four:layers\n`);
  });

  test('run -it: Ctrl-P Ctrl-Q detaches and leaves the container running; attach comes back', async () => {
    const p = inPty(sb, ['run', '-it', '--name', 'dk', 'busybox', 'sh']);
    await waitFor('the prompt', () => p.out().includes('# '));
    p.child.stdin.write('echo hel""lo\r');
    await waitFor('the echo', () => p.out().includes('hello'));
    p.child.stdin.write('\x10\x11');
    assert.equal(await p.done, 0, p.out());
    assert.match(p.out(), /read escape sequence/);
    assert.match(sb.ok(['ps', '--format', '{{.Names}} {{.Status}}']), /^dk Up /m);
    // Back, and out with the shell's exit code.
    const a = inPty(sb, ['attach', 'dk']);
    a.child.stdin.write('exit 3\r');
    assert.equal(await a.done, 3, a.out());
    sb.ok(['rm', 'dk']);
  });

  test('run -it --rm: the shell\'s exit ends the run with its code and removes the container', async () => {
    const p = inPty(sb, ['run', '-it', '--rm', '--name', 'gone', 'busybox', 'sh']);
    await waitFor('the prompt', () => p.out().includes('# '));
    p.child.stdin.write('exit 7\r');
    assert.equal(await p.done, 7, p.out());
    assert.equal(sb.ok(['ps', '-a', '-q', '--filter', 'name=gone']), '');
  });

  test('run -it --detach-keys ctrl-x,x and --detach-keys "" (none: the keys reach the container)', async () => {
    const p = inPty(sb, ['run', '-it', '--detach-keys', 'ctrl-x,x', '--name', 'dk2', 'busybox', 'sh']);
    await waitFor('the prompt', () => p.out().includes('# '));
    p.child.stdin.write('\x18x');
    assert.equal(await p.done, 0, p.out());
    assert.match(sb.ok(['ps', '--format', '{{.Names}}']), /^dk2$/m);
    sb.ok(['rm', '-f', 'dk2']);
    const n = inPty(sb, ['run', '-it', '--rm', '--detach-keys', '', 'busybox', 'sh']);
    await waitFor('the prompt', () => n.out().includes('# '));
    n.child.stdin.write('\x10\x11exit 4\r');
    assert.equal(await n.done, 4, n.out());
  });
});
