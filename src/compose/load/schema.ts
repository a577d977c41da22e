import type { ErrorObject } from 'ajv';
import { ComposeError, docPath } from './errors.js';
// Generated from schema-data.ts by scripts/gen-compose-validator.mjs: ajv's
// standalone code, so no schema is compiled at run time (compiling it cost
// 0.3-1.3 s a command on the test machine).
import { validate } from './validate-compose.generated.js';

type Json = Record<string, any>;

/** Throws a one-line ComposeError naming the file, the document path and what was expected. */
export function validateSchema(doc: unknown, file: string): void {
  if (validate(doc)) return;
  throw new ComposeError(`${file}: ${describe(validate.errors ?? [], doc)}`);
}

function segments(pointer: string, doc: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  let cur: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      out.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      out.push(seg);
      cur = cur && typeof cur === 'object' ? (cur as Json)[seg] : undefined;
    }
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string', number: 'a number', integer: 'an integer', boolean: 'a boolean',
  object: 'a mapping', array: 'a list', null: 'null',
};

function describe(errors: ErrorObject[], doc: unknown): string {
  // oneOf/anyOf only say "no branch matched"; the branches' own errors say why.
  const useful = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  const pool = useful.length ? useful : errors;
  const depth = (e: ErrorObject) => e.instancePath.split('/').length + (e.keyword === 'additionalProperties' || e.keyword === 'required' ? 1 : 0);
  const deepest = Math.max(...pool.map(depth));
  const at = pool.find((e) => depth(e) === deepest)!.instancePath;
  let here = pool.filter((e) => depth(e) === deepest && e.instancePath === at);
  const segs = segments(at, doc);
  const value = segs.reduce<unknown>((v, s) => (v && typeof v === 'object' ? (v as Json)[s as string] : undefined), doc);
  // A mapping where a mapping is allowed: its keys are what is wrong, not its type.
  const structural = here.filter((e) => e.keyword !== 'type');
  if (structural.length && value !== null && typeof value === 'object') here = structural;
  const first = here[0]!;
  const path = docPath(segs);
  const where = path ? `${path}: ` : '';
  switch (first.keyword) {
    case 'additionalProperties': {
      const key = String(first.params.additionalProperty);
      if (!path) return `unknown top-level key "${key}" (allowed: version, name, include, services, networks, volumes, secrets, configs and x-* extensions)`;
      // Under services:/volumes:/... a key is a name the schema's pattern refused, not a misspelt field.
      if (['services', 'volumes', 'networks', 'secrets', 'configs'].includes(path)) {
        return `${path}: invalid name "${key}": use letters, digits, ".", "_" and "-"`;
      }
      return `${path}: unknown key "${key}"`;
    }
    case 'required':
      return `${where}missing required key "${String(first.params.missingProperty)}"`;
    case 'enum':
      return `${where}must be one of ${(first.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type': {
      const types = new Set<string>();
      for (const e of here.filter((x) => x.keyword === 'type')) {
        const t = e.params.type as string | string[];
        for (const one of Array.isArray(t) ? t : [t]) types.add(one);
      }
      if (types.has('integer') && types.has('number')) types.delete('integer');
      const names = [...types].map((t) => TYPE_NAMES[t] ?? t);
      const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0];
      return `${where}must be ${list}`;
    }
    case 'uniqueItems':
      return `${where}must not list the same item twice`;
    case 'minimum':
      return `${where}must be ${String(first.params.limit)} or more`;
    default:
      return `${where}${first.message ?? 'is invalid'}`;
  }
}
