import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineError } from '../../src/util/errors.js';
import { globMatch, imageListFilter, imagePruneFilter, parseUntil, referenceMatches } from '../../src/engine/images/filter.js';
import { imageHistory } from '../../src/engine/images/history.js';
import { tagName } from '../../src/engine/images/tag.js';
import type { Engine } from '../../src/engine/engine.js';
import type { ImageRecord } from '../../src/image/store.js';
import { historyRow, HISTORY_KIND } from '../../src/cli/history.js';
import { formatList } from '../../src/cli/list-format.js';
import { imageRows, imagesTableFormat, IMAGES_KIND } from '../../src/cli/images-format.js';

function image(id: string, tags: string[], created: string, labels: Record<string, string> = {}): ImageRecord {
  return {
    id: `sha256:${id.repeat(64).slice(0, 64)}`,
    manifestDigest: `sha256:${'f'.repeat(64)}`,
    created: 0,
    size: 1_234_567,
    tags,
    layers: [`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`],
    config: {
      architecture: 'amd64', os: 'linux', created,
      config: { Labels: labels },
      rootfs: { type: 'layers', diff_ids: [] },
    },
  };
}

const old = image('a', ['docker.io/library/busybox:latest', 'localhost/tools/box:v1'], '2020-01-01T00:00:00Z', { team: 'x', tier: 'db' });
const mid = image('b', [], '2022-01-01T00:00:00Z');
const recent = image('c', ['quay.example/ns/app:2'], '2024-01-01T00:00:00Z', { team: 'y' });
const all = [old, mid, recent];
const byName = (ref: string) => all.find((i) => i.id.includes(ref) || i.tags.some((t) => t.includes(ref)))!;

function kept(filters: string[]): string[] {
  const f = imageListFilter(filters, byName, Date.parse('2025-01-01T00:00:00Z'));
  return all.filter((i) => f.test(i)).map((i) => i.id.slice(7, 8));
}

describe('images --filter', () => {
  test('glob as Go\'s path.Match: * and ? stop at /', () => {
    assert.ok(globMatch('busy*', 'busybox'));
    assert.ok(globMatch('b?sybox', 'busybox'));
    assert.ok(globMatch('[a-c]usybox', 'busybox'));
    assert.ok(!globMatch('*', 'tools/box'));
    assert.ok(globMatch('*/*', 'tools/box'));
    assert.ok(globMatch('a.b', 'a.b') && !globMatch('a.b', 'axb'));
  });

  test('reference matches the familiar name with or without its tag', () => {
    assert.ok(referenceMatches('busybox', 'docker.io/library/busybox:latest'));
    assert.ok(referenceMatches('busybox:latest', 'docker.io/library/busybox:latest'));
    assert.ok(referenceMatches('busy*', 'docker.io/library/busybox:latest'));
    assert.ok(!referenceMatches('busybox:1', 'docker.io/library/busybox:latest'));
    assert.ok(referenceMatches('localhost/tools/*', 'localhost/tools/box:v1'));
  });

  test('dangling, reference, label, before, since, until', () => {
    assert.deepEqual(kept([]), ['a', 'b', 'c']);
    assert.deepEqual(kept(['dangling=true']), ['b']);
    assert.deepEqual(kept(['dangling=false']), ['a', 'c']);
    assert.deepEqual(kept(['reference=busybox']), ['a']);
    assert.deepEqual(kept(['reference=busybox', 'reference=quay.example/ns/*']), ['a', 'c'], 'values of one key OR');
    assert.deepEqual(kept(['label=team']), ['a', 'c']);
    assert.deepEqual(kept(['label=team=x']), ['a']);
    assert.deepEqual(kept(['label=team', 'label=tier=db']), ['a'], 'every label must hold');
    assert.deepEqual(kept(['before=app']), ['a', 'b']);
    assert.deepEqual(kept(['since=busybox']), ['b', 'c']);
    assert.deepEqual(kept(['until=2021-06-01T00:00:00Z']), ['a']);
    assert.deepEqual(kept(['dangling=false', 'label=team=y']), ['c'], 'keys AND');
  });

  test('reference= shows only the names that match', () => {
    const f = imageListFilter(['reference=localhost/*/*'], byName);
    assert.deepEqual(f.names(old), ['localhost/tools/box:v1']);
  });

  test('a bad filter is one clear error', () => {
    for (const [args, re] of [[['colour=red'], /invalid filter 'colour'/], [['dangling=maybe'], /dangling=maybe/], [['until=yesterday'], /until=yesterday/], [['nonsense'], /expected name=value/]] as const) {
      assert.throws(() => imageListFilter([...args], byName), (e: unknown) => e instanceof EngineError && re.test(e.message));
    }
  });

  test('until takes durations, Unix times and dates', () => {
    const now = 1_700_000_000_000;
    assert.equal(parseUntil('10m', now), now - 600_000);
    assert.equal(parseUntil('1h30m', now), now - 5_400_000);
    assert.equal(parseUntil('1600000000', now), 1_600_000_000_000);
    assert.equal(parseUntil('2020-01-01T00:00:00Z', now), Date.parse('2020-01-01T00:00:00Z'));
  });

  test('image prune filters: until, label, label!', () => {
    const keep = (args: string[]) => all.filter(imagePruneFilter(args, Date.parse('2025-01-01T00:00:00Z'))).map((i) => i.id.slice(7, 8));
    assert.deepEqual(keep(['label=team']), ['a', 'c']);
    assert.deepEqual(keep(['label!=team=x']), ['b', 'c']);
    assert.deepEqual(keep(['until=2023-01-01T00:00:00Z']), ['a', 'b']);
    assert.throws(() => imagePruneFilter(['dangling=true']), /invalid filter 'dangling'/);
  });
});

describe('images --format', () => {
  const now = Date.parse('2024-01-01T02:00:00Z');
  const rows = [...imageRows(recent, recent.tags, { trunc: true, now, containers: 1 }), ...imageRows(mid, [], { trunc: true, now, containers: 0 })];

  test('the default table has Docker\'s columns; --digests adds one', () => {
    const out = formatList(undefined, rows, IMAGES_KIND);
    assert.match(out, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    assert.match(out, /quay\.example\/ns\/app\s+2\s+cccccccccccc\s+2 hours ago\s+1\.23MB/);
    assert.match(out, /<none>\s+<none>\s+bbbbbbbbbbbb/);
    const digests = formatList(undefined, rows, { ...IMAGES_KIND, table: imagesTableFormat(true) });
    assert.match(digests, /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/);
    assert.match(digests, /sha256:f{64}/);
  });

  test('fields, json and table templates', () => {
    assert.equal(formatList('{{.Repository}}:{{.Tag}} {{.ID}}', rows, IMAGES_KIND), 'quay.example/ns/app:2 cccccccccccc\n<none>:<none> bbbbbbbbbbbb\n');
    const json = JSON.parse(formatList('{{json .}}', rows, IMAGES_KIND).split('\n')[0]!) as Record<string, string>;
    assert.deepEqual(Object.keys(json), ['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize']);
    assert.equal(json.Containers, '1');
    assert.match(formatList('table {{.Repository}}\t{{.Size}}', rows, IMAGES_KIND), /^REPOSITORY\s+SIZE\n/);
    assert.throws(() => formatList('{{.Nope}}', rows, IMAGES_KIND), /Nope/);
  });
});

describe('history', () => {
  const img = image('d', ['docker.io/library/x:1'], '2024-01-01T00:00:00Z');
  img.config.history = [
    { created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:0123456789abcdef in / ' },
    { created: '2024-01-01T00:00:01Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
    { created: '2024-01-01T00:00:02Z', created_by: 'RUN make', comment: 'built' },
  ];
  const engine = { images: { layerSizes: (ids: string[]) => ids.map((_, i) => (i + 1) * 1000) } } as unknown as Engine;

  test('newest first, layer sizes by step, empty steps 0B, <missing> below the top', () => {
    const h = imageHistory(engine, img);
    assert.deepEqual(h.map((e) => [e.id === img.id ? 'top' : e.id, e.size, e.comment]), [['top', 2000, 'built'], ['<missing>', 0, ''], ['<missing>', 1000, '']]);
    const rows = h.map((e) => historyRow(e, { trunc: true, now: Date.parse('2024-01-01T01:00:05Z') }));
    const out = formatList(undefined, rows, HISTORY_KIND);
    assert.match(out, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/);
    assert.match(out, /dddddddddddd\s+About an hour ago\s+RUN make\s+2kB\s+built/);
    assert.match(out, /<missing>.*\/bin\/sh -c #\(nop\) ADD file:0123456789abcdef …\s+1kB/);
  });

  test('layers the history does not account for still get rows', () => {
    const bare = image('e', [], '2024-01-01T00:00:00Z');
    assert.deepEqual(imageHistory(engine, bare).map((e) => e.size), [2000, 1000]);
  });
});

describe('tag names', () => {
  test('normalized; digests and id-like names refused', () => {
    assert.equal(tagName('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(tagName('localhost:5000/a/b:v2'), 'localhost:5000/a/b:v2');
    assert.throws(() => tagName(`busybox@sha256:${'a'.repeat(64)}`), /refusing to create a tag with a digest/);
    assert.throws(() => tagName('a'.repeat(64)), /cannot be told from an image id/);
    assert.throws(() => tagName('Upper'), /invalid reference format/);
  });
});
