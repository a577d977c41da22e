import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'smol-toml';
import { parsePlainToml } from '../../src/engine/policy/plain-toml.js';

// The fast path must never disagree with smol-toml: on every text it
// accepts, both give the same document; everything else it leaves alone.

const PLAIN = [
  '',
  '# only a comment\n',
  '[all]\nregistries = ["docker.io", "registry.example.org"]\n',
  '[group.students]         # members\nprivileged = false\ncap_add = []\ndevices = false\nhost_network = false\n' +
    'bind_roots = ["$HOME", "/srv/courses"]   # $HOME: the user\'s home\nruntimes = ["crun", "runsc"]\nisolation = "sandbox"\n' +
    'ports = "20000-29999"\nmax_memory = "2g"\nmax_cpus = 2\nmax_pids = 1024\nmax_containers = 5\n',
  '[user.alice]\nlocal_images = false\n\n[user.bob]\nmax_cpus = 1.5\ndevices = [\'/dev/fuse\', "/dev/kvm",]\n',
  '[ user . carol ]\r\nports = \'1-2\'\r\nmax_pids = -0\r\nn = +7\r\n',
  '[a.b]\nx = 1\n[a]\ny = [1, 2, true, "s"]\n',
  '[engine]\nruntime = "crun"\n[policy]\nprivileged = false  # no\ncap_add = [ "NET_ADMIN" , ]\n',
  'top = "value # not a comment"\n[t]\nk = \'it\'\n',
];

const NOT_PLAIN = [
  'a.b = 1\n',                        // dotted key
  '"quoted" = 1\n',                   // quoted key
  '[[array]]\nx = 1\n',               // array of tables
  'x = "esc\\"aped"\n',               // escapes
  'x = """multi\nline"""\n',          // multi-line string
  'x = { a = 1 }\n',                  // inline table
  'x = [[1], [2]]\n',                 // nested arrays
  'x = 1_000\n',                      // underscores
  'x = 1e3\n',                        // exponent
  'x = 0x10\n',                       // hex
  'x = 007\n',                        // leading zero
  'x = inf\n',
  'x = 1979-05-27\n',                 // date
  'x = [\n  "a",\n]\n',               // array over lines
  'x = 1\nx = 2\n',                   // a key twice
  '[t]\n[t]\n',                       // a table twice
  'x = 1\n[x]\n',                     // a value, then a table of that name
  'x = true false\n',                 // junk after a value
  '[t] junk\n',
  'x = "tab\there"\n'.replace('\\t', '\t').replace('tab\there', 'a\u0001b'), // control character
  'x = 99999999999999999999\n',       // beyond a safe integer
];

describe('plain TOML (the policy files\' fast path)', () => {
  test('gives what smol-toml gives for plain texts', () => {
    for (const text of PLAIN) {
      const fast = parsePlainToml(text);
      assert.ok(fast, `not taken as plain: ${JSON.stringify(text)}`);
      assert.deepEqual(fast, parse(text), JSON.stringify(text));
    }
  });

  test('leaves everything else to smol-toml (undefined)', () => {
    for (const text of NOT_PLAIN) assert.equal(parsePlainToml(text), undefined, JSON.stringify(text));
  });
});
