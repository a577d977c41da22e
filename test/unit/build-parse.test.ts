import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDockerfile } from '../../src/engine/build/parse.js';
import { lexWords, lexWord, parsePairs } from '../../src/engine/build/substitute.js';
import { globRegex, ignoreMatcher } from '../../src/storage/layer-pack.js';

const env: Record<string, string> = { A: 'one', E: '', S: 'x y' };
const look = (n: string) => env[n];

describe('build: Dockerfile parsing', () => {
  test('instructions, lines, flags, continuations, exec form', () => {
    const f = parseDockerfile('# syntax=docker/dockerfile:1\nARG B=busybox\nFROM $B AS one\nRUN --mount=type=cache,target=/c echo a \\\n  # a comment\n  && echo b\nCMD ["sh", "-c", "x"]\n', 'Dockerfile');
    assert.deepEqual(f.instructions.map((i) => [i.keyword, i.line]), [['ARG', 2], ['FROM', 3], ['RUN', 4], ['CMD', 7]]);
    const run = f.instructions[2]!;
    assert.deepEqual(run.flags, [{ name: 'mount', value: 'type=cache,target=/c' }]);
    assert.equal(run.args.replace(/\s+/g, ' '), 'echo a && echo b');
    assert.deepEqual(f.instructions[3]!.json, ['sh', '-c', 'x']);
  });

  test('here-documents, quoted and <<- forms', () => {
    const f = parseDockerfile('FROM scratch\nRUN <<EOF\necho $A\nEOF\nCOPY <<-"X" /f\n\thello\n\tX\n', 'Containerfile');
    const [, run, copy] = f.instructions;
    assert.deepEqual(run!.heredocs, [{ name: 'EOF', body: 'echo $A\n', expand: true }]);
    assert.deepEqual(copy!.heredocs, [{ name: 'X', body: 'hello\n', expand: false }]);
    assert.equal(copy!.args, '<<-"X" /f');
  });

  test('escape directive', () => {
    const f = parseDockerfile('# escape=`\nFROM scratch\nRUN a `\n  b\n', 'Dockerfile');
    assert.equal(f.escape, '`');
    assert.equal(f.instructions[1]!.args.replace(/\s+/g, ' '), 'a b');
  });

  test('an unknown instruction names file and line', () => {
    assert.throws(() => parseDockerfile('FROM scratch\n\nFOO bar\n', 'sub/Containerfile'), /^Error: sub\/Containerfile:3: unknown instruction: FOO$|sub\/Containerfile:3: unknown instruction: FOO/);
  });
});

describe('build: variable substitution', () => {
  test('Docker forms', () => {
    assert.deepEqual(lexWords('$A ${A} ${E:-d} ${E-d} ${A:+set} ${N+set} "${S}" $S \'$A\'', look).words, ['one', 'one', 'd', 'set', 'x y', 'x', 'y', '$A']);
    assert.equal(lexWord('a\\$A "q\\"" ${N:-${A}}', look).word, 'a$A q" one');
    assert.throws(() => lexWords('${N:?needed}', look), /N: needed/);
    assert.deepEqual([...lexWords('$A ${B:-x}', look).used].sort(), ['A', 'B']);
  });
  test('pairs', () => {
    assert.deepEqual(parsePairs('K=v L="a b" M=$A', look, '\\').pairs, [['K', 'v'], ['L', 'a b'], ['M', 'one']]);
    assert.deepEqual(parsePairs('K some value', look, '\\').pairs, [['K', 'some value']]);
    assert.deepEqual(parsePairs('K', look, '\\', { keyOnly: true }).pairs, [['K', undefined]]);
  });
});

describe('build: COPY globs and the ignore file', () => {
  test('Go filepath.Match per path part, ** across parts', () => {
    assert.ok(globRegex('*.txt').test('a.txt'));
    assert.ok(!globRegex('*.txt').test('d/a.txt'));
    assert.ok(globRegex('file?.[ch]').test('file1.c'));
    assert.ok(!globRegex('file?.[!ch]').test('file1.c'));
    assert.ok(globRegex('**/*.log').test('a/b/c.log'));
    assert.ok(globRegex('**/*.log').test('c.log'));
  });
  test('.dockerignore: last match wins, ! re-includes, a matched directory excludes what is below', () => {
    const ignored = ignoreMatcher(['# comment', '*.key', 'logs', '!logs/keep.log', 'node_modules/', '**/*.tmp']);
    assert.ok(ignored('a.key'));
    assert.ok(!ignored('sub/a.key'), 'a pattern without ** matches from the root only');
    assert.ok(ignored('logs/x.log'));
    assert.ok(!ignored('logs/keep.log'));
    assert.ok(ignored('node_modules/x/y.js'));
    assert.ok(ignored('deep/er/f.tmp'));
    assert.ok(!ignored('keep.txt'));
  });
});
