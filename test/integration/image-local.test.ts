import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox } from '../helpers.js';

/** One line on stderr, the exit status asked for. */
function refused(r: { code: number; stderr: string }, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

describe('local image commands: tag, images, history, inspect', () => {
  let sb: Sandbox;
  let id: string;
  let labelled: string;
  before(() => {
    sb = new Sandbox('image-local');
    id = sb.importBusybox('busybox');
    // Same layer, another config: another image.
    labelled = sb.ok(['import', '-c', 'LABEL tier=db', '-c', 'CMD ["sh"]', '-m', 'with a label', busyboxTarball(), 'db/box:2']).trim();
  });
  after(() => sb.destroy());

  test('tag: another name for the image; a name moves; bad names and missing sources refused', () => {
    sb.ok(['tag', 'busybox', 'tools/box:v1']);
    sb.ok(['image', 'tag', id.slice(7, 19), 'localhost:5000/box']);
    assert.equal(sb.ok(['image', 'inspect', '-f', '{{.Id}}', 'tools/box:v1']).trim(), id);
    assert.equal(sb.ok(['inspect', '-f', '{{.Id}}', 'localhost:5000/box:latest']).trim(), id);
    sb.ok(['tag', 'db/box:2', 'moving:1']);
    sb.ok(['tag', 'busybox', 'moving:1']);
    assert.equal(sb.ok(['inspect', '-f', '{{.Id}}', 'moving:1']).trim(), id, 'the name moved to the other image');
    refused(sb.run(['tag', 'nothere', 'x:1']), 125, /No such image: nothere/);
    refused(sb.run(['tag', 'busybox', 'Bad:Name']), 125, /invalid reference format/);
    refused(sb.run(['tag', 'busybox', `x@sha256:${'a'.repeat(64)}`]), 125, /refusing to create a tag with a digest reference/);
    sb.ok(['rmi', 'moving:1']);
  });

  test('images: a row per name, Docker\'s columns, -q, --no-trunc, --digests, --format', () => {
    const out = sb.ok(['images']);
    assert.match(out, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    assert.match(out, new RegExp(`^busybox\\s+latest\\s+${id.slice(7, 19)}\\s+.+ ago\\s+2\\.\\d+MB$`, 'm'));
    assert.match(out, /^tools\/box\s+v1\s+/m);
    assert.match(out, /^localhost:5000\/box\s+latest\s+/m);
    assert.match(out, /^db\/box\s+2\s+/m);
    assert.deepEqual(sb.ok(['images', '-q']).trim().split('\n').sort(), [id.slice(7, 19), labelled.slice(7, 19)].sort(), 'one id per image');
    assert.match(sb.ok(['image', 'ls', '-q', '--no-trunc']), new RegExp(`^${id}$`, 'm'));
    assert.match(sb.ok(['images', '--digests']), /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE\n(.*sha256:[a-f0-9]{64}.*\n)+$/);
    assert.equal(sb.ok(['images', '--format', '{{.Repository}}:{{.Tag}}', 'db/box']), 'db/box:2\n');
    const rows = sb.ok(['images', '--format', '{{json .}}']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.equal(rows.length, 4);
    assert.ok(rows.every((r) => r.ID && r.Digest?.startsWith('sha256:') && r.Size && r.CreatedSince && r.Repository && r.Tag));
    assert.match(sb.ok(['images', '--format', 'table {{.ID}}\t{{.Tag}}']), /^IMAGE ID\s+TAG\n/);
    refused(sb.run(['images', '--format', '{{.Nope}}']), 125, /Nope/);
  });

  test('images --filter: reference, label, dangling, before, since; bad filters refused', () => {
    const names = (...args: string[]) => sb.ok(['images', '--format', '{{.Repository}}:{{.Tag}}', ...args]).trim().split('\n').filter(Boolean).sort();
    assert.deepEqual(names('-f', 'reference=*/box'), ['db/box:2', 'localhost:5000/box:latest', 'tools/box:v1']);
    assert.deepEqual(names('-f', 'reference=*/box:v*'), ['tools/box:v1']);
    assert.deepEqual(names('-f', 'reference=busybox'), ['busybox:latest']);
    assert.deepEqual(names('-f', 'label=tier=db'), ['db/box:2']);
    assert.deepEqual(names('-f', 'label=tier'), ['db/box:2']);
    assert.deepEqual(names('-f', 'dangling=true'), []);
    assert.deepEqual(names('-f', `since=${id.slice(7, 19)}`), ['db/box:2']);
    assert.deepEqual(names('-f', 'before=db/box:2'), ['busybox:latest', 'localhost:5000/box:latest', 'tools/box:v1']);
    refused(sb.run(['images', '-f', 'colour=red']), 1, /invalid filter 'colour'/);
    refused(sb.run(['images', '-f', 'dangling=perhaps']), 1, /invalid filter 'dangling=perhaps'/);
    refused(sb.run(['images', '-f', 'since=nothere']), 125, /nothere/);
  });

  test('history: Docker\'s columns from the config\'s history and the layer sizes', () => {
    const out = sb.ok(['history', 'db/box:2']);
    assert.match(out, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/);
    assert.match(out, new RegExp(`^${labelled.slice(7, 19)}\\s+.+ ago\\s+rootlet import\\s+2\\.\\d+MB\\s+with a label$`, 'm'));
    assert.equal(sb.ok(['image', 'history', '-q', 'db/box:2']).trim(), labelled.slice(7, 19));
    assert.equal(sb.ok(['history', '-q', '--no-trunc', 'db/box:2']).trim(), labelled);
    assert.equal(sb.ok(['history', '--format', '{{.CreatedBy}}|{{.Comment}}', 'db/box:2']), 'rootlet import|with a label\n');
    refused(sb.run(['history', 'nothere']), 125, /nothere/);
  });

  test('image inspect in Docker\'s shape; top-level inspect finds an image when no container has the name', () => {
    const [doc] = JSON.parse(sb.ok(['image', 'inspect', 'db/box:2'])) as Array<Record<string, unknown>>;
    assert.equal(doc!.Id, labelled);
    assert.deepEqual(doc!.RepoTags, ['db/box:2']);
    assert.match((doc!.RepoDigests as string[])[0]!, /^db\/box@sha256:[a-f0-9]{64}$/);
    assert.equal(doc!.Os, 'linux');
    assert.ok(doc!.Architecture);
    assert.ok((doc!.Size as number) > 2_000_000);
    assert.equal(doc!.Comment, 'with a label');
    assert.deepEqual((doc!.Config as Record<string, unknown>).Labels, { tier: 'db' });
    assert.deepEqual((doc!.Config as Record<string, unknown>).Cmd, ['sh']);
    assert.equal((doc!.RootFS as { Layers: string[] }).Layers.length, 1);
    assert.ok((doc!.Metadata as Record<string, unknown>).LastTagTime);
    assert.match(((doc!.GraphDriver as { Data: { UpperDir: string } }).Data.UpperDir), /layers\/[a-f0-9]{64}$/);
    assert.equal(sb.ok(['inspect', '-f', '{{.Id}} {{index .Config.Labels "tier"}}', 'db/box:2']).trim(), `${labelled} db`);
    refused(sb.run(['image', 'inspect', 'nothere']), 1, /No such image: nothere/);
  });
});

describe('rmi and image prune', () => {
  let sb: Sandbox;
  let id: string;
  before(() => {
    sb = new Sandbox('image-rm');
    id = sb.importBusybox('busybox');
  });
  after(() => sb.destroy());

  test('rmi: a name of several is only untagged; several names at once; a missing one reported, the rest done', () => {
    sb.ok(['tag', 'busybox', 'a:1']);
    sb.ok(['tag', 'busybox', 'b:1']);
    assert.equal(sb.ok(['rmi', 'a:1']), 'Untagged: a:1\n');
    const r = sb.run(['image', 'rm', 'b:1', 'nothere:1']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'Untagged: b:1\n');
    assert.match(r.stderr, /^Error: No such image: nothere:1$/m);
    assert.equal(sb.ok(['images', '-q', '--no-trunc']).trim(), id);
  });

  test('rmi by id: refused with several names unless forced, and while a container uses the image', async () => {
    sb.ok(['tag', 'busybox', 'c:1']);
    refused(sb.run(['rmi', id.slice(7, 19)]), 1, /must be forced.*referenced in multiple repositories/);
    sb.ok(['create', '--name', 'stopped-user', 'c:1', 'true']);
    const r = sb.run(['rmi', 'c:1', 'busybox']);
    assert.equal(r.stdout, 'Untagged: c:1\n', 'c:1 was not the last name');
    refused(r, 1, /Error: conflict: unable to remove repository reference "busybox" \(must force\) - container [0-9a-f]{12} \(stopped-user\) is using its referenced image/);
    refused(sb.run(['rmi', id]), 1, /must be forced.*stopped container/);
    sb.ok(['run', '-d', '--name', 'running-user', 'busybox', 'sleep', '60']);
    refused(sb.run(['rmi', '-f', id]), 1, /cannot be forced.*running container [0-9a-f]{12} \(running-user\)/);
    sb.ok(['rm', '-f', 'running-user']);
    // Forced: the names go; the image stays, nameless, while the stopped container needs its layers.
    const out = sb.ok(['rmi', '-f', id]);
    assert.match(out, /Untagged: busybox:latest/);
    assert.doesNotMatch(out, /Deleted/);
    assert.equal(sb.ok(['images', '--format', '{{.Repository}} {{.Tag}} {{.Containers}}']), '<none> <none> 1\n');
    assert.equal(sb.ok(['start', '-a', 'stopped-user']), '');
    // In use, a nameless image survives prune; once free, prune deletes it with its layer.
    assert.match(sb.ok(['image', 'prune', '-f']), /^Total reclaimed space: 0B$/m);
    sb.ok(['rm', 'stopped-user']);
    const pruned = sb.ok(['image', 'prune', '-f']);
    assert.match(pruned, new RegExp(`^Deleted Images:\ndeleted: ${id}\n\nTotal reclaimed space: 2\\.\\d+MB\n$`));
    assert.equal(sb.ok(['images', '-q']), '');
    assert.equal(sb.ok(['unshare', 'ls', sb.path('data/rootlet/layers')]).trim(), '', 'the layer is gone too');
  });

  test('image prune: dangling only by default, -a all unused, a question without -f, filters', () => {
    const a = sb.importBusybox('keep:1');
    const b = sb.ok(['import', '-c', 'LABEL drop=yes', busyboxTarball(), 'drop:1']).trim();
    sb.ok(['create', '--name', 'user', 'keep:1', 'true']);
    assert.equal(sb.ok(['image', 'prune', '-f']), 'Total reclaimed space: 0B\n', 'named images are not dangling');
    const asked = sb.run(['image', 'prune', '-a'], { input: 'n\n' });
    assert.equal(asked.code, 0);
    assert.match(asked.stdout, /WARNING! This will remove all images without at least one container associated to them\.\nAre you sure you want to continue\? \[y\/N\] $/);
    assert.equal(sb.ok(['images', '-q']).trim().split('\n').length, 2, 'nothing removed on "n"');
    refused(sb.run(['image', 'prune', '-a', '-f', '--filter', 'dangling=true']), 1, /invalid filter 'dangling'/);
    assert.match(sb.ok(['image', 'prune', '-a', '-f', '--filter', 'label!=drop']), /^Total reclaimed space: 0B$/m);
    const out = sb.ok(['image', 'prune', '-a', '--filter', 'label=drop=yes'], { input: 'y\n' });
    assert.match(out, new RegExp(`untagged: drop:1\ndeleted: ${b}\n`));
    // The layer is shared with keep:1, which a container uses: nothing reclaimed.
    assert.match(out, /Total reclaimed space: 0B\n$/);
    assert.equal(sb.ok(['images', '-q', '--no-trunc']).trim(), a);
    assert.equal(sb.ok(['run', '--rm', 'keep:1', 'echo', 'still runs']).trim(), 'still runs');
    sb.ok(['rm', 'user']);
  });
});
