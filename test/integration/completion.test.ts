import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, SCRIPTS, Sandbox, shq } from '../helpers.js';

/**
 * Shell completion and manual pages, as a user meets them: the script
 * sourced in bash (the completion function called as bash calls it), the
 * pages rendered by man, both installed by scripts/install.sh.
 */
describe('completion scripts and manual pages', () => {
  const sb = new Sandbox('completion');
  let script: string;
  before(() => {
    sb.importBusybox('busybox');
    sb.ok(['create', '--name', 'compl-target', '-v', 'compl-vol:/data', 'busybox', 'true']);
    sb.ok(['network', 'create', 'compl-net']);
    script = sb.path('rootlet.bash');
    writeFileSync(script, sb.ok(['completion', 'bash']));
  });
  after(() => sb.destroy());

  /** What bash offers for the words typed (the last one being completed), rootlet named as BIN. */
  function bashComplete(file: string, words: string[]): string[] {
    const quoted = [BIN, ...words].map(shq).join(' ');
    const r = spawnSync('bash', ['-c', `source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length}; _rootlet; printf '%s\\n' "\${COMPREPLY[@]}"`], {
      encoding: 'utf8', env: sb.env, timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    return r.stdout.split('\n').filter(Boolean);
  }

  test('bash completes a container name, an image, a network, a volume, commands and flags', () => {
    assert.deepEqual(bashComplete(script, ['rm', 'compl-']), ['compl-target']);
    assert.deepEqual(bashComplete(script, ['start', '-a', 'compl-t']), ['compl-target']);
    assert.deepEqual(bashComplete(script, ['run', '--rm', 'busy']), ['busybox', 'busybox:latest']);
    assert.deepEqual(bashComplete(script, ['run', '--network', 'compl-']), ['compl-net']);
    assert.deepEqual(bashComplete(script, ['network', 'rm', 'compl-']), ['compl-net']);
    assert.deepEqual(bashComplete(script, ['run', '--netw']), ['--network', '--network-alias']);
    assert.deepEqual(bashComplete(script, ['netw']), ['network']);
    assert.deepEqual(bashComplete(script, ['network', 'cr']), ['create']);
    assert.deepEqual(bashComplete(script, ['ps', '--form']), ['--format']);
    // After run's image comes the container's command: nothing of rootlet's is offered.
    assert.deepEqual(bashComplete(script, ['run', 'busybox', '--netw']), []);
    assert.deepEqual(sb.ok(['__complete', 'volumes']).split('\n').filter(Boolean), ['compl-vol']);
  });

  test('bad shells and kinds are refused in one line', () => {
    for (const args of [['completion', 'tcsh'], ['completion'], ['__complete', 'pods']]) {
      const r = sb.run(args);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').filter((l) => !l.startsWith("See 'rootlet")).length, 1, r.stderr);
    }
  });

  test('zsh and fish scripts parse, and fish completes a container name', (t) => {
    for (const [shell, args] of [['zsh', ['-n']], ['fish', ['-n']]] as const) {
      if (spawnSync('sh', ['-c', `command -v ${shell}`]).status !== 0) { t.diagnostic(`${shell} not installed`); continue; }
      const file = sb.path(`completion.${shell}`);
      writeFileSync(file, sb.ok(['completion', shell]));
      const r = spawnSync(shell, [...args, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    if (spawnSync('sh', ['-c', 'command -v fish']).status === 0) {
      const fish = spawnSync('fish', ['-c', `source ${sb.path('completion.fish')}; complete -C '${BIN} rm compl-'`], { encoding: 'utf8', env: sb.env, timeout: 60_000 });
      assert.equal(fish.status, 0, fish.stderr);
    }
  });

  test('install.sh puts the pages and scripts where man and the shells look; man renders every page', () => {
    const prefix = sb.path('prefix');
    const r = spawnSync('bash', [join(SCRIPTS, 'install.sh'), prefix], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['share/bash-completion/completions/rootlet', 'share/zsh/site-functions/_rootlet', 'share/fish/vendor_completions.d/rootlet.fish']) {
      assert.ok(existsSync(join(prefix, f)), f);
    }
    // The installed bash script completes as the generated one does.
    assert.deepEqual(bashComplete(join(prefix, 'share/bash-completion/completions/rootlet'), ['rm', 'compl-']), ['compl-target']);
    const man = (args: string[]) => spawnSync('man', args, { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
    // By name, as a user types it, from the installed tree.
    const run = man(['-M', join(prefix, 'share/man'), 'rootlet-run']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /rootlet-run - Run a command in a new container/);
    assert.match(run.stdout, /-d, --detach/);
    const top = man(['-M', join(prefix, 'share/man'), 'rootlet']);
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /rootlet-network\(1\)/);
    // Every generated page renders without a warning from groff.
    const dir = join(dirname(BIN), 'man/man1');
    const pages = readdirSync(dir);
    assert.ok(pages.includes('rootlet-network-create.1') && pages.length > 40, pages.join(' '));
    for (const p of pages) {
      const m = man(['--warnings', '-l', join(dir, p)]);
      assert.equal(m.status, 0, `${p}: ${m.stderr}`);
      assert.equal(m.stderr, '', p);
      assert.match(m.stdout, new RegExp(`^${p.replace(/\.1$/, '').toUpperCase()}\\(1\\)`), p);
    }
  });
});
