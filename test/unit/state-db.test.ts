import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EngineError } from '../../src/util/errors.js';
import { checkIntegrity, openDb } from '../../src/state/db.js';

describe('state database: lost and damaged files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rootlet-db-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const refuse = (how: string) => { throw new EngineError(`refused: ${how}`); };

  test('a missing database that is refused is not created', () => {
    const file = join(dir, 'missing.db');
    assert.throws(() => openDb(file, { onFresh: refuse }), /refused: missing/);
    assert.ok(!existsSync(file));
  });

  test('an emptied database is told apart from a sound one', () => {
    const file = join(dir, 'empty.db');
    writeFileSync(file, '');
    assert.throws(() => openDb(file, { onFresh: refuse }), /refused: empty/);
    const db = openDb(file);
    db.close();
    const again = openDb(file, { onFresh: refuse });
    assert.equal(checkIntegrity(again), undefined);
    again.close();
  });

  test('a damaged page is one line naming the file and the recovery, from any statement, and quick_check finds it', () => {
    const file = join(dir, 'damaged.db');
    const db = openDb(file);
    const insert = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    for (let i = 0; i < 200; i++) insert.run(`k${i}`, 'v'.repeat(200));
    const page = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'meta'").get() as { rootpage: number }).rootpage;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, (page - 1) * 4096);
    closeSync(fd);
    const broken = openDb(file);
    assert.match(checkIntegrity(broken) ?? '', /./);
    assert.throws(() => broken.prepare('SELECT * FROM meta').all(), (err: unknown) => {
      assert.ok(err instanceof EngineError);
      assert.match(err.message, new RegExp(`^the state database ${file} is damaged \\(.*\\): run \`rootlet system recover\``));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    broken.close();
  });

  test('a file that is not a database at all is refused at open in one line', () => {
    const file = join(dir, 'garbage.db');
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    assert.throws(() => openDb(file), /^EngineError: the state database .*garbage\.db is damaged \(file is not a database\)/);
  });
});
