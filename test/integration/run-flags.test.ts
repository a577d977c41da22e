import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { arch } from 'node:os';
import { BIN, busyboxTarball, refusedOneLine, Sandbox } from '../helpers.js';
import { waitFor } from '../lifecycle-helpers.js';
import { makeImage, pushRaw, putManifest, startRegistry } from '../registry-helpers.js';

// Issue 12 item 4: the run/create flags a Docker user reaches for (--mount,
// --ulimit, --platform, --cidfile, -a, --sig-proxy, --label-file,
// --annotation, --log-driver/--log-opt, -w creation, Ctrl-P Ctrl-Q of a
// run -it), each as a user runs it; every bad value refused with 125, one
// line, and nothing created.

/** The caller's own hard limit of a resource, as /proc/self/limits says it (-1: unlimited). */
function ownHard(label: string): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(label))!;
  const hard = line.slice(label.length).trim().split(/\s+/)[1]!;
  return hard === 'unlimited' ? -1 : Number(hard);
}

describe('run and create flags', () => {
  const sb = new Sandbox('runflags');
  const state = () => ({
    containers: sb.ok(['ps', '-a', '-q', '--no-trunc']),
    dirs: readdirSync(sb.path('data/rootlet/containers')).sort().join(' '),
    volumes: existsSync(sb.path('data/rootlet/volumes')) ? readdirSync(sb.path('data/rootlet/volumes')).sort().join(' ') : '',
  });

  before(() => {
    sb.importBusybox();
  });
  after(() => sb.destroy());

  test('--mount type=bind: source, target, readonly; a missing source is refused (not made, unlike -v)', () => {
    const src = sb.path('bsrc');
    mkdirSync(src);
    writeFileSync(join(src, 'f'), 'from-host\n');
    assert.equal(sb.ok(['run', '--rm', '--mount', `type=bind,source=${src},target=/b`, 'busybox', 'cat', '/b/f']), 'from-host\n');
    const ro = sb.run(['run', '--rm', '--mount', `type=bind,src=${src},dst=/b,readonly`, 'busybox', 'touch', '/b/g']);
    assert.equal(ro.code, 1);
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal(existsSync(join(src, 'g')), false);
    const was = state();
    refusedOneLine(sb.run(['run', '--rm', '--mount', `type=bind,src=${sb.path('missing')},dst=/b`, 'busybox', 'true']), /bind source path does not exist/, 'missing bind source');
    assert.equal(existsSync(sb.path('missing')), false);
    assert.deepEqual(state(), was);
  });

  test('--mount type=volume and type=tmpfs with tmpfs-size and tmpfs-mode; inspect shows them', () => {
    sb.ok(['run', '--rm', '--mount', 'type=volume,source=mvol,target=/v', 'busybox', 'sh', '-c', 'echo kept > /v/x']);
    assert.equal(sb.ok(['run', '--rm', '--mount', 'source=mvol,destination=/v,ro', 'busybox', 'cat', '/v/x']), 'kept\n');
    const mounts = sb.ok(['run', '--rm', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts; stat -c %a /t']);
    assert.match(mounts, /^tmpfs \/t tmpfs .*size=1024k/m);
    assert.match(mounts, /^1770$/m);
    sb.ok(['create', '--name', 'mnt', '--mount', 'type=tmpfs,target=/t', '--mount', 'type=volume,src=mvol,dst=/v', 'busybox', 'true']);
    const m = JSON.parse(sb.ok(['inspect', '-f', '{{json .Mounts}}', 'mnt'])) as Array<{ Type: string; Destination: string; Name?: string }>;
    assert.ok(m.some((x) => x.Type === 'volume' && x.Destination === '/v' && x.Name === 'mvol'), JSON.stringify(m));
    sb.ok(['rm', 'mnt']);
  });

  test('--mount: Docker\'s refusals, one line each, nothing created', () => {
    const was = state();
    for (const [spec, want] of [
      ['type=bind,dst=/b', /field Source must not be empty/],
      ['type=bind,src=/tmp', /field Target must not be empty/],
      ['type=tmpfs,src=x,dst=/t', /field Source must not be specified/],
      ['type=volume,dst=/v,bind-propagation=shared', /field BindOptions must not be specified/],
      ['type=bind,src=/tmp,dst=/b,tmpfs-size=1m', /field TmpfsOptions must not be specified/],
      ['type=tmpfs,dst=/t,tmpfs-mode=9', /tmpfs-mode/],
      ['type=nfs,dst=/n', /mount type "nfs" is not supported/],
      ['type=bind,src=/tmp,dst=/b,colour=red', /unexpected key 'colour'/],
      ['type=bind,src=/tmp,dst=relative', /must be an absolute path/],
    ] as Array<[string, RegExp]>) {
      for (const cmd of ['run', 'create']) refusedOneLine(sb.run([cmd, '--mount', spec, 'busybox', 'true']), want, `${cmd} --mount ${spec}`);
    }
    // A volume option rootlet's volumes have no use for: refused, and the volume is not made.
    refusedOneLine(sb.run(['run', '--rm', '--mount', 'type=volume,src=optvol,dst=/v,volume-opt=type=nfs', 'busybox', 'true']), /volume option "type" is not supported/, 'volume-opt');
    assert.deepEqual(state(), was);
  });

  test('--ulimit: soft and hard limits in the container, inspect shows them; beyond your own hard limit is refused', () => {
    const nofile = ownHard('Max open files');
    const hard = nofile === -1 ? 4096 : Math.min(nofile, 4096);
    const out = sb.ok(['run', '--rm', '--ulimit', `nofile=100:${hard}`, '--ulimit', 'nproc=500', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu']);
    assert.deepEqual(out.trim().split('\n'), ['100', String(hard), '500', '500']);
    sb.ok(['create', '--name', 'ul', '--ulimit', 'nofile=100:200', 'busybox', 'true']);
    assert.deepEqual(JSON.parse(sb.ok(['inspect', '-f', '{{json .HostConfig.Ulimits}}', 'ul'])), [{ Name: 'nofile', Soft: 100, Hard: 200 }]);
    sb.ok(['rm', 'ul']);
    const was = state();
    if (nofile !== -1) {
      refusedOneLine(sb.run(['run', '--rm', '--ulimit', `nofile=10:${nofile + 1}`, 'busybox', 'true']), new RegExp(`above your own hard limit of ${nofile}`), 'nofile above own');
      refusedOneLine(sb.run(['run', '--rm', '--ulimit', 'nofile=-1', 'busybox', 'true']), /above your own hard limit/, 'unlimited nofile');
    }
    refusedOneLine(sb.run(['run', '--rm', '--ulimit', 'nofile=300:200', 'busybox', 'true']), /soft limit 300 is above the hard limit 200/, 'soft > hard');
    refusedOneLine(sb.run(['create', '--ulimit', 'bogus=1', 'busybox', 'true']), /invalid ulimit type: bogus/, 'unknown name');
    refusedOneLine(sb.run(['create', '--ulimit', 'nofile', 'busybox', 'true']), /"nofile" for "--ulimit" flag: use NAME=SOFT\[:HARD\]/, 'no value');
    assert.deepEqual(state(), was);
  });

  test('--platform: the host\'s runs; an image here of another platform is refused with --pull never', () => {
    const arch = sb.ok(['image', 'inspect', '-f', '{{.Architecture}}', 'busybox']).trim();
    assert.equal(sb.ok(['run', '--rm', '--platform', `linux/${arch}`, 'busybox', 'echo', 'ok']), 'ok\n');
    const other = arch === 'arm64' ? 'amd64' : 'arm64';
    const was = state();
    refusedOneLine(sb.run(['run', '--rm', '--pull', 'never', '--platform', `linux/${other}`, 'busybox', 'true']), new RegExp(`image busybox is for linux/${arch}, not the --platform asked \\(linux/${other}\\)`), 'other platform');
    refusedOneLine(sb.run(['create', '--platform', 'linux', 'busybox', 'true']), /"linux" for "--platform" flag: not a platform/, 'bad platform');
    assert.deepEqual(state(), was);
  });

  test('--platform with a multi-platform image: pulled for the platform asked; one the index lacks is refused', async () => {
    const host = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[arch()] ?? arch();
    const other = host === 'arm64' ? 'amd64' : 'arm64';
    const reg = await startRegistry();
    try {
      const mine = makeImage([readFileSync(busyboxTarball())], { architecture: host, cmd: ['echo', `on-${host}`] });
      const theirs = makeImage([readFileSync(busyboxTarball())], { architecture: other, cmd: ['echo', `on-${other}`] });
      for (const img of [mine, theirs]) await pushRaw(reg.host, 'multi', img.digest, img);
      const index = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [[mine, host], [theirs, other]].map(([img, a]) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: (img as typeof mine).digest, size: (img as typeof mine).manifest.length, platform: { os: 'linux', architecture: a },
        })),
      }));
      await putManifest(reg.host, 'multi', '1', index, 'application/vnd.oci.image.index.v1+json');
      const name = `${reg.host}/multi:1`;
      // registries.conf marks the registry insecure: run and create have no --tls-verify.
      const conf = sb.path('registries.conf');
      writeFileSync(conf, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
      const env = { CONTAINERS_REGISTRIES_CONF: conf };
      sb.ok(['create', '--name', 'foreign', '--platform', `linux/${other}`, name], { env });
      assert.equal(sb.ok(['image', 'inspect', '-f', '{{.Architecture}}', name]).trim(), other);
      assert.equal(sb.ok(['inspect', '-f', '{{.Config.Cmd}}', 'foreign']).trim(), `[echo on-${other}]`);
      sb.ok(['rm', 'foreign']);
      // The image here is for another platform: the missing policy pulls the one asked for, as Docker.
      assert.equal(sb.ok(['run', '--rm', '--platform', `linux/${host}`, name], { env }).trim(), `on-${host}`);
      assert.equal(sb.ok(['image', 'inspect', '-f', '{{.Architecture}}', name]).trim(), host);
      const was = state();
      const r = sb.run(['run', '--rm', '--platform', 'linux/s390x', name], { env });
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr.trim().split('\n').pop()!, /^Error: .*s390x/);
      assert.deepEqual(state(), was);
      sb.ok(['rmi', name]);
    } finally {
      reg.stop();
    }
  });

  test('--cidfile: the id is written; a file that exists is refused before anything is created', () => {
    const cid = sb.path('cid');
    sb.ok(['run', '--rm', '--cidfile', cid, 'busybox', 'true']);
    assert.match(readFileSync(cid, 'utf8'), /^[0-9a-f]{64}$/);
    const was = state();
    refusedOneLine(sb.run(['run', '--rm', '--cidfile', cid, 'busybox', 'true']), /container ID file found, make sure the other container isn't running or delete/, 'cidfile exists');
    refusedOneLine(sb.run(['create', '--cidfile', cid, 'busybox', 'true']), /container ID file found/, 'create cidfile exists');
    assert.deepEqual(state(), was);
    const cid2 = sb.path('cid2');
    const id = sb.ok(['create', '--cidfile', cid2, 'busybox', 'true']).trim();
    assert.equal(readFileSync(cid2, 'utf8'), id);
    const cid3 = sb.path('cid3');
    const did = sb.ok(['run', '-d', '--cidfile', cid3, 'busybox', 'true']).trim();
    assert.equal(readFileSync(cid3, 'utf8'), did);
    sb.ok(['rm', '-f', id, did]);
  });

  test('-a/--attach: only the streams named reach the caller; the others are still logged', () => {
    const r = sb.run(['run', '--name', 'att', '-a', 'stdout', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, '');
    const logs = sb.run(['logs', 'att']);
    assert.equal(logs.stderr, 'err\n');
    sb.ok(['rm', 'att']);
    const e = sb.run(['run', '--rm', '-a', 'stderr', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(e.stdout, '');
    assert.equal(e.stderr, 'err\n');
    const was = state();
    refusedOneLine(sb.run(['run', '-d', '-a', 'stdout', 'busybox', 'true']), /conflicting options: -a and -d/, '-a with -d');
    refusedOneLine(sb.run(['run', '-a', 'stdfoo', 'busybox', 'true']), /"stdfoo" for "-a, --attach" flag/, 'bad stream');
    assert.deepEqual(state(), was);
  });

  test('--sig-proxy=false: a signal to rootlet does not reach the container; by default it does', async () => {
    const script = 'trap "echo got-term" TERM; echo ready; while [ ! -e /h/go ]; do sleep 0.1; done; echo done';
    for (const proxy of [false, true]) {
      const dir = sb.path(`sig-${proxy}`);
      mkdirSync(dir);
      const child = spawn(process.execPath, ['--', BIN, 'run', '--rm', ...(proxy ? [] : ['--sig-proxy=false']), '-v', `${dir}:/h`, 'busybox', 'sh', '-c', script], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      const done = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
      await waitFor('ready', () => out.includes('ready'));
      child.kill('SIGTERM');
      if (proxy) await waitFor('the trap', () => out.includes('got-term'));
      writeFileSync(join(dir, 'go'), '');
      assert.equal(await done, 0);
      await waitFor('the last line', () => out.includes('done'));
      assert.equal(out.includes('got-term'), proxy, out);
    }
  });

  test('-e KEY takes the caller\'s value; a KEY the caller lacks is left out (Docker)', () => {
    const out = sb.ok(['run', '--rm', '-e', 'FROM_HOST', '-e', 'NOT_SET_HERE', 'busybox', 'env'], { env: { FROM_HOST: 'host value' } });
    assert.match(out, /^FROM_HOST=host value$/m);
    assert.doesNotMatch(out, /NOT_SET_HERE/);
  });

  test('--label-file and -l: labels from the file, -l wins; a missing file is refused', () => {
    const f = sb.path('labels');
    writeFileSync(f, '# comment\n\ncom.example.a=1\ncom.example.b=file\nempty\n');
    sb.ok(['create', '--name', 'lbl', '--label-file', f, '-l', 'com.example.b=flag', 'busybox', 'true']);
    assert.deepEqual(JSON.parse(sb.ok(['inspect', '-f', '{{json .Config.Labels}}', 'lbl'])), { 'com.example.a': '1', 'com.example.b': 'flag', empty: '' });
    sb.ok(['rm', 'lbl']);
    const was = state();
    refusedOneLine(sb.run(['run', '--label-file', sb.path('nolabels'), 'busybox', 'true']), /^Error: open .*nolabels: no such file or directory$/, 'missing label file');
    assert.deepEqual(state(), was);
  });

  test('--annotation: in the runtime\'s config and in inspect; the runtime\'s own keys are refused', () => {
    const id = sb.ok(['create', '--name', 'ann', '--annotation', 'com.example.note=hello', '--annotation', 'org.example.empty=', 'busybox', 'true']).trim();
    assert.deepEqual(JSON.parse(sb.ok(['inspect', '-f', '{{json .HostConfig.Annotations}}', 'ann'])), { 'com.example.note': 'hello', 'org.example.empty': '' });
    sb.ok(['start', '-a', 'ann']);
    const config = JSON.parse(readFileSync(sb.path('data/rootlet/containers', id, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
    assert.equal(config.annotations?.['com.example.note'], 'hello');
    sb.ok(['rm', 'ann']);
    const was = state();
    refusedOneLine(sb.run(['run', '--rm', '--annotation', 'run.oci.seccomp_bpf_data=x', 'busybox', 'true']), /run\.oci\.\* annotations set crun's own behaviour/, 'run.oci annotation');
    refusedOneLine(sb.run(['run', '--rm', '--annotation', '=x', 'busybox', 'true']), /"=x" for "--annotation" flag/, 'no key');
    assert.deepEqual(state(), was);
  });

  test('--log-driver none: nothing logged, logs refuses as Docker; journald only where a journal runs', () => {
    sb.ok(['run', '--name', 'nolog', '--log-driver', 'none', 'busybox', 'echo', 'unseen']);
    assert.equal(sb.ok(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', 'nolog']).trim(), 'none');
    refusedOneLine(sb.run(['logs', 'nolog']), /configured logging driver does not support reading/, 'logs of none');
    sb.ok(['rm', 'nolog']);
    const d = sb.ok(['run', '-d', '--name', 'nolog-d', '--log-driver', 'none', 'busybox', 'echo', 'unseen']).trim();
    assert.equal(sb.ok(['wait', d]).trim(), '0');
    assert.equal(existsSync(sb.path('data/rootlet/containers', d, 'ctr.log')), false);
    sb.ok(['rm', d]);
    const was = state();
    if (!existsSync('/run/systemd/journal/socket')) {
      refusedOneLine(sb.run(['run', '-d', '--log-driver', 'journald', 'busybox', 'true']), /log driver journald needs systemd-journald, and none runs here/, 'journald');
    }
    refusedOneLine(sb.run(['run', '--log-driver', 'syslog', 'busybox', 'true']), /"syslog" for "--log-driver" flag/, 'syslog');
    refusedOneLine(sb.run(['run', '--log-opt', 'max-file=3', 'busybox', 'true']), /unknown log opt 'max-file'/, 'max-file');
    refusedOneLine(sb.run(['run', '--log-opt', 'max-size=lots', 'busybox', 'true']), /max-size/, 'bad max-size');
    refusedOneLine(sb.run(['run', '--log-driver', 'none', '--log-opt', 'max-size=1m', 'busybox', 'true']), /unknown log opt 'max-size' for none log driver/, 'max-size with none');
    assert.deepEqual(state(), was);
  });

  test('--log-opt max-size: the log is started anew beyond the size, detached (conmon) and in the foreground', async () => {
    const loop = 'i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done';
    const id = sb.ok(['run', '-d', '--log-opt', 'max-size=16k', 'busybox', 'sh', '-c', loop]).trim();
    assert.equal(sb.ok(['wait', id]).trim(), '0');
    assert.deepEqual(JSON.parse(sb.ok(['inspect', '-f', '{{json .HostConfig.LogConfig}}', id])), { Type: 'k8s-file', Config: { 'max-size': '16k' } });
    const fg = sb.ok(['run', '--name', 'fgsize', '--log-opt', 'max-size=16k', 'busybox', 'sh', '-c', loop]);
    assert.equal(fg.split('\n').filter(Boolean).length, 3000, 'the caller still sees every line');
    for (const c of [id, sb.ok(['inspect', '-f', '{{.Id}}', 'fgsize']).trim()]) {
      const size = statSync(sb.path('data/rootlet/containers', c, 'ctr.log')).size;
      assert.ok(size <= 16 * 1024, `log of ${size} bytes`);
      const lines = sb.ok(['logs', c]).trim().split('\n');
      assert.equal(lines[lines.length - 1], 'line-2999');
      assert.ok(lines.length < 3000, `${lines.length} lines kept`);
    }
    sb.ok(['rm', id, 'fgsize']);
  });

  test('-w: a missing working directory is made, owned by the container\'s user', () => {
    const out = sb.ok(['run', '--rm', '-u', '1000:1000', '-w', '/made/here', 'busybox', 'sh', '-c', 'pwd; stat -c "%u:%g %a" . ..; touch mine']);
    assert.deepEqual(out.trim().split('\n'), ['/made/here', '1000:1000 755', '1000:1000 755']);
    // A directory of the image is left as it is.
    assert.equal(sb.ok(['run', '--rm', '-u', '1000:1000', '-w', '/etc', 'busybox', 'stat', '-c', '%u', '.']).trim(), '0');
    // Detached too, and in a created container's later starts.
    const id = sb.ok(['create', '-u', '1000:1000', '-w', '/w', 'busybox', 'stat', '-c', '%u:%g', '.']).trim();
    assert.equal(sb.ok(['start', '-a', id]).trim(), '1000:1000');
    assert.equal(sb.ok(['start', '-a', id]).trim(), '1000:1000');
    sb.ok(['rm', id]);
  });

  test('-w through a symbolic link the container made is not followed on the host', () => {
    const target = sb.path('linktarget');
    mkdirSync(target);
    const id = sb.ok(['create', '-w', '/wd/sub', 'busybox', 'sh', '-c', `cd / && rm -rf /wd && ln -s ${target} /wd`]).trim();
    sb.ok(['start', '-a', id]);
    // The next start finds /wd a link to a host path: nothing is made there.
    sb.run(['start', '-a', id]);
    assert.deepEqual(readdirSync(target), []);
    sb.ok(['rm', '-f', id]);
    rmSync(target, { recursive: true });
  });
});
