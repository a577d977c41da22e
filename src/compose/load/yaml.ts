import { isCollection, isMap, isScalar, isSeq, parseDocument, Scalar, visit } from 'yaml';
import { docPath } from './errors.js';
import { ComposeError } from './errors.js';

/** `!reset`: the value goes away when merged over another file's (or an extended service's). */
export class Reset {
  readonly reset = true;
}
export const RESET = new Reset();

/** `!override`: the value replaces another file's instead of being merged with it. */
export class Override {
  constructor(readonly value: unknown) {}
}

/**
 * Parses one compose file: YAML 1.2 with merge keys (`<<`), anchors and
 * aliases; a key given twice in a mapping is an error (as in Docker's
 * loader); the compose tags `!reset` and `!override` become `Reset` /
 * `Override` markers that the merge reads.
 */
export function parseYaml(text: string, file: string): Record<string, unknown> {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true, strict: true });
  const err = doc.errors[0];
  if (err?.code === 'DUPLICATE_KEY') {
    const where = duplicateKeyPath(text, err.pos[0]);
    if (where) throw new ComposeError(`${file}: ${where.path ? `${where.path}: ` : ''}the key "${where.key}" is given twice (line ${err.linePos?.[0].line ?? '?'})`);
  }
  if (err) throw new ComposeError(`${file}: ${oneLine(err.message)}`);
  visit(doc, {
    Node(_key, node) {
      const tag = (node as { tag?: string }).tag;
      if (tag === '!reset') return new Scalar(RESET);
      if (tag === '!override') {
        (node as { tag?: string }).tag = undefined;
        return new Scalar(new Override(node.toJS(doc)));
      }
      if (tag && tag.startsWith('!') && !tag.startsWith('!!') && (isScalar(node) || isCollection(node))) {
        throw new ComposeError(`${file}: unknown YAML tag ${tag}: compose knows !reset and !override`);
      }
      return undefined;
    },
  });
  const value: unknown = doc.toJS({ maxAliasCount: 10_000 });
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ComposeError(`${file}: the top level must be a mapping (services:, networks:, ...)`);
  return value as Record<string, unknown>;
}

function oneLine(msg: string): string {
  // yaml's pretty errors add the source line and a caret below the message.
  const first = msg.split('\n')[0]!.trim();
  return first.replace(/:$/, '');
}

/** The document path of the mapping that has a key twice, and the key, from the offset of the second one. */
function duplicateKeyPath(text: string, offset: number): { path: string; key: string } | undefined {
  const doc = parseDocument(text, { merge: true, uniqueKeys: false });
  const find = (node: unknown, segs: (string | number)[]): { path: string; key: string } | undefined => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = pair.key;
        const name = isScalar(k) ? String(k.value) : String(k);
        if (isScalar(k) && k.range?.[0] === offset) return { path: docPath(segs), key: name };
        const hit = find(pair.value, [...segs, name]);
        if (hit) return hit;
      }
    } else if (isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) {
        const hit = find(node.items[i], [...segs, i]);
        if (hit) return hit;
      }
    }
    return undefined;
  };
  return find(doc.contents, []);
}
