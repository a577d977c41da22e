import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { netProcesses, Sandbox, until } from '../helpers.js';

// Issue 13: a build's RUN steps on the default network share one stack rather than starting one per
// step. Issue 16: the default network stays up after its last container, so the stack outlives the build.
describe('build on the default network', () => {
  let sb: Sandbox;
  let dir: string;

  before(() => {
    sb = new Sandbox('build-network');
    sb.importBusybox('busybox');
    dir = sb.path('ctx');
    mkdirSync(dir, { recursive: true });
  });
  after(() => sb.destroy());

  const context = (files: Record<string, string>): string => {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  test('RUN steps on the default network share one stack, which outlives the build; a killed build\'s step is settled', async () => {
    // Each step waits for its go file, which the test writes into the context: the context is bind-mounted live.
    // (The step's own output line, not its STEP header, which quotes the command.)
    const waitStep = (n: number) => `RUN --mount=type=bind,target=/ctx sh -c 'cat /sys/class/net/eth0/address; echo step-${n}-waits; until [ -e /ctx/go${n} ]; do sleep 0.1; done'\n`;
    context({ Containerfile: `FROM busybox\n${waitStep(1)}${waitStep(2)}` });
    const stacks = () => netProcesses(sb.root).filter((l) => /pasta|passt|slirp4netns/.test(l));
    const build = (args: string[]) => {
      const child = sb.spawn(['build', '--no-cache', ...args, dir]);
      const out = { text: '' };
      child.stdout!.on('data', (d: Buffer) => { out.text += d.toString(); });
      child.stderr!.on('data', (d: Buffer) => { out.text += d.toString(); });
      const exited = new Promise<number>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
      return { child, out, exited };
    };

    const b = build(['-t', 'held']);
    await until('step 1 runs', () => /^step-1-waits$/m.test(b.out.text), 120_000);
    const first = stacks();
    assert.equal(first.length, 1, `one stack during step 1: ${first.join('; ')}`);
    writeFileSync(join(dir, 'go1'), '');
    await until('step 2 runs', () => /^step-2-waits$/m.test(b.out.text), 120_000);
    assert.deepEqual(stacks(), first, 'step 2 runs on the same stack as step 1');
    writeFileSync(join(dir, 'go2'), '');
    assert.equal(await b.exited, 0, b.out.text);
    assert.deepEqual(stacks(), first, 'the default network\'s stack stays up after the build');

    // kill -9 of the build while a step runs: the step ends, is settled at the next look, and the
    // network keeps its one stack.
    rmSync(join(dir, 'go1'));
    const k = build([]);
    await until('the step runs', () => /^step-1-waits$/m.test(k.out.text), 120_000);
    k.child.kill('SIGKILL');
    await k.exited;
    writeFileSync(join(dir, 'go1'), '');
    await until('the orphaned step ends and is settled', () => !/\bUp\b/.test(sb.ok(['ps', '-a'])), 60_000);
    assert.deepEqual(stacks(), first, 'still the one stack');
    for (const id of sb.ok(['ps', '-a', '-q']).split('\n').filter(Boolean)) sb.ok(['rm', '-f', id]);
    sb.ok(['rmi', 'held']);
  });

});
