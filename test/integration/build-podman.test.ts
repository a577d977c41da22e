import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox } from '../helpers.js';
import { Podman } from '../podman-helpers.js';

// Issue 13: a Containerfile that `podman build` accepts builds in rootlet to
// an image with the same files (owners, modes, sizes, links) and the same
// config; and what rootlet builds runs under Podman.

/**
 * Twenty-odd Containerfiles over the instructions both builders know
 * (Podman 4.3's buildah has no here-documents; it keeps HEALTHCHECK
 * only in Docker's format, which it is asked for). Each starts from the
 * same busybox image, named by the BASE build arg.
 */
const CASES: Array<{ name: string; file: string; files?: Record<string, string> }> = [
  { name: 'metadata', file: 'ENV A=1 B="two words"\nLABEL one=1 two="2 2"\nEXPOSE 80 53/udp\nUSER 1000:1000\nWORKDIR /home/app\nCMD ["sh", "-c", "echo hi"]\nSTOPSIGNAL SIGQUIT\n' },
  { name: 'run-files', file: 'RUN mkdir -p /srv/a/b && echo x > /srv/a/b/f && chmod 750 /srv/a && chmod 604 /srv/a/b/f && chown -R 1000:100 /srv/a/b\n' },
  { name: 'run-delete', file: 'RUN rm -rf /www /bin/vi /etc/group\n' },
  { name: 'run-opaque', file: 'RUN rm -rf /home/app && mkdir -p /home/app && echo new > /home/app/new\n' },
  { name: 'run-links', file: 'RUN echo data > /data && ln /data /data-hard && ln -s /data /data-soft && ln -s ../nowhere /dangling\n' },
  { name: 'run-special-modes', file: 'RUN touch /suid /sgid /sticky-dir && chmod 4755 /suid && chmod 2755 /sgid && mkdir /sticky && chmod 1777 /sticky && rm /sticky-dir\n' },
  { name: 'copy-dir-contents', file: 'COPY tree /opt/tree/\n', files: { 'tree/a.txt': 'a\n', 'tree/sub/b.txt': 'bb\n', 'tree/sub/deeper/c.txt': 'ccc\n' } },
  { name: 'copy-file-into-dir', file: 'COPY one.txt /etc/\n', files: { 'one.txt': '1\n' } },
  { name: 'copy-rename', file: 'COPY one.txt /newdir/renamed.txt\n', files: { 'one.txt': '1\n' } },
  { name: 'copy-chown', file: 'COPY --chown=app:app one.txt tree /home/app/\n', files: { 'one.txt': '1\n', 'tree/x': 'x\n' } },
  { name: 'copy-chown-ids', file: 'COPY --chown=1234:4321 one.txt /numeric/\n', files: { 'one.txt': '1\n' } },
  { name: 'copy-chmod', file: 'COPY --chmod=700 run.sh /usr/local/bin/\n', files: { 'run.sh': '#!/bin/sh\necho run\n' } },
  { name: 'copy-glob', file: 'COPY *.txt /texts/\n', files: { 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.md': 'c\n' } },
  { name: 'dockerignore', file: 'COPY . /app/\n', files: { 'keep.txt': 'k\n', 'secret.key': 's\n', 'logs/x.log': 'l\n', '.dockerignore': '*.key\nlogs\n' } },
  { name: 'add-tar', file: 'ADD bundle.tar /unpacked/\n' },
  { name: 'workdir-made', file: 'WORKDIR /made/by/workdir\nWORKDIR /tmp\n' },
  { name: 'workdir-relative', file: 'WORKDIR /w\nWORKDIR sub\nCOPY one.txt ./\nRUN pwd > /where\n', files: { 'one.txt': '1\n' } },
  { name: 'entrypoint-shell', file: 'CMD ["base"]\nENTRYPOINT echo entry\n' },
  { name: 'entrypoint-exec-cmd', file: 'ENTRYPOINT ["/bin/echo"]\nCMD ["default", "args"]\n' },
  { name: 'volume-health', file: 'VOLUME /data /logs\nHEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD true\n' },
  { name: 'args', file: 'ARG WHO=world\nARG UNUSED\nENV GREETING="hello ${WHO}" OTHER=${UNUSED:-fallback} SET=${WHO:+yes}\nRUN echo "$GREETING" > /greeting\n' },
  { name: 'shell', file: 'SHELL ["/bin/sh", "-e", "-c"]\nRUN echo shell > /shell-used\n' },
  { name: 'user-run', file: 'RUN mkdir /owned && chown 1000:1000 /owned\nUSER app\nRUN touch /owned/by-app\n' },
  { name: 'multi-stage', file: 'RUN echo built > /artifact\nFROM ${BASE}\nCOPY --from=0 /artifact /copied\n' },
];

/** The image's files as `export` gives them: type+mode, owner, size (files), name, link target; times left out. */
function listing(tar: Buffer): string[] {
  const r = spawnSync('tar', ['-tvf', '-', '--numeric-owner'], { input: tar, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const m = /^(\S+)\s+(\d+\/\d+)\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(l);
    assert.ok(m, l);
    let [, mode, owner, size, rest] = m as unknown as [string, string, string, string, string];
    rest = rest.replace(/^\.(\/|$)/, '').replace(/\/$/, '');
    // Which of two hard links is written as the link depends on the walk: compare both as files.
    if (mode.startsWith('h')) { mode = `-${mode.slice(1)}`; rest = rest.replace(/ link to .*$/, ''); size = '?'; }
    if (mode.startsWith('d')) size = '';
    return `${mode} ${owner} ${size} ${rest}`;
  }).filter((l) => !/ $/.test(l) && !/ (etc\/(hosts|hostname|resolv\.conf)|run\/\.containerenv)$/.test(l))
    .map((l) => l.replace(/^(-\S+ \S+) \S+ (.*)$/, (all, a: string, b: string) => (all.includes(' ? ') ? `${a} ? ${b}` : all)))
    .sort();
}

const CONFIG_KEYS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Labels', 'Volumes', 'StopSignal', 'Healthcheck'] as const;

function configOf(inspectJson: string): Record<string, unknown> {
  const doc = (JSON.parse(inspectJson) as Array<{ Config?: Record<string, unknown>; HealthCheck?: unknown }>)[0]!;
  // Podman shows the health check beside Config.
  const c: Record<string, unknown> = { ...(doc.HealthCheck ? { Healthcheck: doc.HealthCheck } : {}), ...(doc.Config ?? {}) };
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) {
    let v = c[k];
    // Podman's own label, and the empty values each engine writes or leaves out.
    if (k === 'Labels' && v) v = Object.fromEntries(Object.entries(v as Record<string, string>).filter(([l]) => l !== 'io.buildah.version'));
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length) || (typeof v === 'object' && v && !Array.isArray(v) && !Object.keys(v).length)) continue;
    out[k] = v;
  }
  return out;
}

describe('build: the same image as podman build', () => {
  let sb: Sandbox;
  let podman: Podman;
  let dir: string;
  before(() => {
    sb = new Sandbox('build-podman');
    podman = new Podman(mkdtempSync('/tmp/rootlet-pb-'));
    dir = mkdtempSync(join(sb.root, 'ctx-'));
    sb.ok(['import', busyboxTarball(), 'busybox']);
    podman.ok(['import', busyboxTarball(), 'localhost/busybox:latest']);
  });
  after(() => {
    podman.destroy();
    sb.destroy();
  });

  test(`${CASES.length} Containerfiles: same files (owners, modes, sizes, links) and config`, () => {
    assert.ok(CASES.length >= 20);
    const failures: string[] = [];
    for (const c of CASES) {
      const ctx = join(dir, c.name);
      mkdirSync(ctx, { recursive: true });
      writeFileSync(join(ctx, 'Containerfile'), `ARG BASE\nFROM \${BASE}\n${c.file}`);
      for (const [name, body] of Object.entries(c.files ?? {})) {
        mkdirSync(join(ctx, name, '..'), { recursive: true });
        writeFileSync(join(ctx, name), body);
      }
      if (c.name === 'add-tar') {
        mkdirSync(join(ctx, 'in/sub'), { recursive: true });
        writeFileSync(join(ctx, 'in/sub/f'), 'in tar\n');
        spawnSync('tar', ['--owner=7', '--group=8', '--numeric-owner', '-C', join(ctx, 'in'), '-cf', join(ctx, 'bundle.tar'), '.']);
        rmSync(join(ctx, 'in'), { recursive: true });
      }
      const rid = sb.ok(['build', '-q', '--build-arg', 'BASE=busybox', ctx]).trim();
      const pid = podman.ok(['build', '-q', '--layers', '--format', 'docker', '--build-arg', 'BASE=localhost/busybox:latest', ctx]).trim();
      const rc = sb.ok(['create', rid, 'true']).trim();
      const exported = spawnSync(process.execPath, ['--', process.env.ROOTLET_BIN!, 'export', rc], { env: sb.env, cwd: sb.root, maxBuffer: 256 << 20 });
      assert.equal(exported.status, 0, `${c.name}: export: ${exported.stderr?.toString()}`);
      const rtar = exported.stdout;
      sb.ok(['rm', rc]);
      const pc = podman.ok(['create', pid, 'true']).trim();
      // Podman's export opens /dev/stdout, which a pipe of spawnSync is not: a file.
      const pfile = join(dir, `${c.name}.podman.tar`);
      podman.ok(['export', '-o', pfile, pc]);
      const ptar = readFileSync(pfile);
      rmSync(pfile);
      podman.ok(['rm', pc]);
      const [rl, pl] = [listing(rtar), listing(ptar)];
      const onlyR = rl.filter((l) => !pl.includes(l));
      const onlyP = pl.filter((l) => !rl.includes(l));
      if (onlyR.length || onlyP.length) failures.push(`${c.name}: files differ: rootlet only ${JSON.stringify(onlyR)}, podman only ${JSON.stringify(onlyP)}`);
      const rcfg = configOf(sb.ok(['image', 'inspect', rid]));
      const pcfg = configOf(podman.ok(['image', 'inspect', pid]));
      try {
        assert.deepEqual(rcfg, pcfg);
      } catch {
        failures.push(`${c.name}: config differs: rootlet ${JSON.stringify(rcfg)}, podman ${JSON.stringify(pcfg)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('an image rootlet built runs under Podman', () => {
    const ctx = join(dir, 'runs');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Containerfile'), 'FROM busybox\nRUN echo "built by rootlet" > /msg\nCMD ["cat", "/msg"]\n');
    sb.ok(['build', '-t', 'localhost/built:1', ctx]);
    const archive = join(dir, 'built.tar');
    sb.ok(['save', '-o', archive, 'localhost/built:1']);
    podman.ok(['load', '-i', archive]);
    assert.equal(podman.ok(['run', '--rm', '--net', 'none', 'localhost/built:1']).trim(), 'built by rootlet');
  });
});
