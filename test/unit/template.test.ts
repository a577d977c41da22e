import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineError } from '../../src/util/errors.js';
import { formatEach, formatList, type ListKind } from '../../src/cli/list-format.js';
import { tabwrite } from '../../src/cli/tabwriter.js';
import { parseTemplate, printValue, renderTemplate as render, TemplateError } from '../../src/cli/template.js';

const data = {
  ID: 'abc123',
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 42, ExitCode: 0 },
  Config: {
    Labels: { 'com.example.role': 'db', tier: 'back' },
    Env: ['PATH=/bin', 'A=b c'],
    Cmd: null,
    Entrypoint: ['/bin/sh', '-c'],
  },
  Mounts: [
    { Type: 'bind', Source: '/h', Destination: '/c', RW: false },
    { Type: 'volume', Name: 'v1', Source: '/s', Destination: '/d', RW: true },
  ],
  Empty: [],
  EmptyMap: {},
  Zero: 0,
  Half: 0.5,
  Text: 'Hello "World" <&>',
  Label(this: { Config: { Labels: Record<string, string> } }, k: string) { return this.Config.Labels[k] ?? ''; },
};

function parseFails(src: string, msg: RegExp): void {
  assert.throws(() => parseTemplate(src), (e: unknown) => {
    assert.ok(e instanceof TemplateError, String(e));
    assert.match(e.message, /^template parsing error: template: :\d+: /);
    assert.match(e.message, msg);
    return true;
  }, src);
}

function execFails(src: string, msg: RegExp, opts?: { strict?: boolean }): void {
  assert.throws(() => render(src, data, opts), (e: unknown) => {
    assert.ok(e instanceof TemplateError, String(e));
    assert.match(e.message, /^template: :\d+:\d+: executing "" at <.*>: /);
    assert.match(e.message, msg);
    return true;
  }, src);
}

describe('template: fields and printing', () => {
  test('plain text passes through; fields, nested fields, dot', () => {
    assert.equal(render('no actions here', data), 'no actions here');
    assert.equal(render('{{.ID}}', data), 'abc123');
    assert.equal(render('{{ .State.Status }}', data), 'running');
    assert.equal(render('id={{.ID}} pid={{.State.Pid}}', data), 'id=abc123 pid=42');
    assert.equal(render('{{.}}', 'just a string'), 'just a string');
    assert.equal(render('{{$}}', 7), '7');
  });

  test('values print as Go prints them: slices, maps (sorted keys), bools, nil, missing', () => {
    assert.equal(render('{{.Config.Env}}', data), '[PATH=/bin A=b c]');
    assert.equal(render('{{.Config.Labels}}', data), 'map[com.example.role:db tier:back]');
    assert.equal(render('{{.State.Running}}', data), 'true');
    assert.equal(render('{{.Config.Cmd}}', data), '<nil>');
    assert.equal(render('{{.Missing}}', data), '<no value>');
    assert.equal(render('{{.Missing.Deeper}}', data), '<no value>');
    assert.equal(render('{{.Empty}} {{.EmptyMap}}', data), '[] map[]');
    assert.equal(render('{{.Mounts}}', data), '[map[Destination:/c RW:false Source:/h Type:bind] map[Destination:/d Name:v1 RW:true Source:/s Type:volume]]');
    assert.equal(render('{{index .Config.Env 0}}', data), 'PATH=/bin');
  });

  test('numbers print as Go formats float64 and ints', () => {
    assert.equal(printValue(42), '42');
    assert.equal(printValue(0.5), '0.5');
    assert.equal(printValue(-3), '-3');
    assert.equal(printValue(1e21), '1e+21');
    assert.equal(printValue(0.00001), '1e-05');
    assert.equal(printValue(0.0001), '0.0001');
    assert.equal(printValue(123456789), '123456789');
    assert.equal(printValue(Number.NaN), 'NaN');
    assert.equal(printValue(Infinity), '+Inf');
  });

  test('methods are called, with arguments', () => {
    assert.equal(render('{{.Label "com.example.role"}}', data), 'db');
    assert.equal(render('{{.Label "nope"}}|', data), '|');
    assert.equal(render('{{.Label "tier" | upper}}', data), 'BACK');
  });

  test('strict data is a struct: an unknown field is an error', () => {
    execFails('{{.Nope}}', /can't evaluate field Nope/, { strict: true });
    assert.equal(render('{{.ID}}', data, { strict: true }), 'abc123');
  });

  test('field errors: through nil, on a string, a non-method with arguments', () => {
    execFails('{{.Config.Cmd.X}}', /nil pointer evaluating interface \{\}\.X/);
    execFails('{{.ID.X}}', /can't evaluate field X in type string/);
    execFails('{{.ID "arg"}}', /ID is not a method but has arguments/);
    execFails('{{.Config.Env.X}}', /can't evaluate field X in type \[\]interface \{\}/);
  });

  test('error positions name the line, column and command', () => {
    assert.throws(() => render('line one\n  {{.ID.X}}', data), /template: :2:4: executing "" at <\.ID\.X>/);
  });
});

describe('template: functions', () => {
  test('json: Go encoding, HTML characters left alone, missing is null', () => {
    assert.equal(render('{{json .Config.Labels}}', data), '{"com.example.role":"db","tier":"back"}');
    assert.equal(render('{{json .Text}}', data), '"Hello \\"World\\" <&>"');
    assert.equal(render('{{json .Missing}}', data), 'null');
    assert.equal(render('{{json .Config.Cmd}}', data), 'null');
    assert.equal(render('{{json .Mounts}}', data), JSON.stringify(data.Mounts));
    assert.equal(render('{{json "\u2028"}}', data), '"\\u2028"');
    // Methods do not appear in JSON.
    assert.equal(JSON.parse(render('{{json .}}', data)).Label, undefined);
    assert.equal(render('{{.Config.Labels | json}}', data), '{"com.example.role":"db","tier":"back"}');
  });

  test('index: maps, slices, nested, missing keys give the zero value', () => {
    assert.equal(render('{{index .Config.Labels "com.example.role"}}', data), 'db');
    assert.equal(render('[{{index .Config.Labels "absent"}}]', data), '[]');
    assert.equal(render('{{index .Mounts 1 "Name"}}', data), 'v1');
    assert.equal(render('{{(index .Mounts 1).Destination}}', data), '/d');
    assert.equal(render('[{{index .Config.Cmd "x"}}]', data), '[]');
    execFails('{{index .Mounts 5}}', /index out of range: 5/);
    execFails('{{index .Missing "x"}}', /index of untyped nil/);
    execFails('{{index .Mounts "x"}}', /cannot index slice\/array with type string/);
  });

  test('Docker\'s string functions', () => {
    assert.equal(render('{{join .Config.Env ","}}', data), 'PATH=/bin,A=b c');
    assert.equal(render('{{split "a:b:c" ":"}}', data), '[a b c]');
    assert.equal(render('{{index (split "a:b:c" ":") 1}}', data), 'b');
    assert.equal(render('{{lower "AbC"}} {{upper "AbC"}} {{title "hello big world"}}', data), 'abc ABC Hello Big World');
    assert.equal(render('[{{pad .ID 2 1}}]', data), '[  abc123 ]');
    assert.equal(render('{{truncate .ID 3}} {{truncate .ID 30}}', data), 'abc abc123');
    execFails('{{upper .State.Pid}}', /expected string; got int/);
  });

  test('Go\'s built-ins: len, print, println, printf, not, and, or', () => {
    assert.equal(render('{{len .Config.Env}} {{len .Config.Labels}} {{len "héllo"}}', data), '2 2 6');
    assert.equal(render('{{print 1 2 "a" "b" 3}}', data), '1 2ab3');
    assert.equal(render('{{println "a" 1}}', data), 'a 1\n');
    assert.equal(render('{{printf "%s=%d %q %v %5s|%-5s|%05d %.2f %t %x %%" "k" 7 "q" .Config.Env "r" "l" 42 3.14159 true 255}}', data),
      'k=7 "q" [PATH=/bin A=b c]     r|l    |00042 3.14 true ff %');
    assert.equal(render('{{printf "%s"}}', data), '%!s(MISSING)');
    assert.equal(render('{{not .Zero}} {{not .ID}}', data), 'true false');
    assert.equal(render('{{and .ID .Zero .Missing}} {{and .ID "x"}}', data), '0 x');
    assert.equal(render('{{or .Zero "" .ID}} {{or .Zero ""}}|', data), 'abc123 |');
    // and/or stop at the first decisive value: the erroring index is never evaluated.
    assert.equal(render('{{and .Zero (index .Mounts 9)}}', data), '0');
    assert.equal(render('{{or .ID (index .Mounts 9)}}', data), 'abc123');
  });

  test('comparisons', () => {
    assert.equal(render('{{eq .State.Status "running"}} {{eq .State.Pid 42}} {{eq .ID "x" "y" "abc123"}}', data), 'true true true');
    assert.equal(render('{{ne .ID "abc123"}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}', data), 'false true true true false');
    execFails('{{lt .ID 3}}', /incompatible types for comparison/);
  });

  test('pipelines pass the value as the last argument', () => {
    assert.equal(render('{{.ID | printf "<%s>"}}', data), '<abc123>');
    assert.equal(render('{{.ID | upper | printf "%s!"}}', data), 'ABC123!');
    assert.equal(render('{{"a,b" | split "x,a,b" | len}}', data), '2');
  });
});

describe('template: control structures and variables', () => {
  test('if / else if / else, with Go\'s truth', () => {
    const t = '{{if .A}}a{{else if .B}}b{{else}}none{{end}}';
    assert.equal(render(t, { A: 1, B: 1 }), 'a');
    assert.equal(render(t, { A: 0, B: 'x' }), 'b');
    assert.equal(render(t, { A: '', B: [] }), 'none');
    assert.equal(render(t, { A: {}, B: null }), 'none');
    assert.equal(render(t, { A: { k: 1 } }), 'a');
    assert.equal(render('{{if eq .State.Status "running"}}up{{end}}', data), 'up');
    assert.equal(render('{{if and .State.Running (gt .State.Pid 0)}}pid {{.State.Pid}}{{end}}', data), 'pid 42');
  });

  test('with sets dot; else when empty', () => {
    assert.equal(render('{{with .State}}{{.Status}}/{{.Pid}}{{end}}', data), 'running/42');
    assert.equal(render('{{with .Config.Cmd}}{{.}}{{else}}no cmd{{end}}', data), 'no cmd');
    assert.equal(render('{{with .Missing}}x{{else with .ID}}{{.}}{{end}}', data), 'abc123');
  });

  test('range over slices and maps (sorted), with variables, else, break and continue', () => {
    assert.equal(render('{{range .Mounts}}{{.Destination}};{{end}}', data), '/c;/d;');
    assert.equal(render('{{range $i, $m := .Mounts}}{{$i}}={{$m.Type}} {{end}}', data), '0=bind 1=volume ');
    assert.equal(render('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}', data), 'com.example.role=db,tier=back,');
    assert.equal(render('{{range $v := .Config.Env}}[{{$v}}]{{end}}', data), '[PATH=/bin][A=b c]');
    assert.equal(render('{{range .Empty}}x{{else}}empty{{end}}', data), 'empty');
    assert.equal(render('{{range .Missing}}x{{end}}|', data), '|');
    assert.equal(render('{{range .Mounts}}{{if .RW}}{{break}}{{end}}{{.Source}}{{end}}', data), '/h');
    assert.equal(render('{{range .Mounts}}{{if not .RW}}{{continue}}{{end}}{{.Source}}{{end}}', data), '/s');
    // $ is the data given, whatever dot is.
    assert.equal(render('{{range .Mounts}}{{$.ID}}:{{.Type}} {{end}}', data), 'abc123:bind abc123:volume ');
    assert.equal(render('{{range 3}}{{.}}{{end}}', data), '012');
    execFails('{{range .ID}}{{end}}', /range can't iterate over abc123/);
  });

  test('variables: declare, assign, scope ends with the block', () => {
    assert.equal(render('{{$x := .ID}}{{$x}}-{{$x = "new"}}{{$x}}', data), 'abc123-new');
    assert.equal(render('{{$n := 0}}{{range .Mounts}}{{$n = .Destination}}{{end}}{{$n}}', data), '/d');
    assert.equal(render('{{with $s := .State.Status}}{{$s}}{{end}}', data), 'running');
    execFails('{{if .ID}}{{$y := 1}}{{end}}{{$y}}', /undefined variable: \$y/);
  });

  test('trim markers and comments', () => {
    assert.equal(render('a  {{- .ID -}}  \n b', data), 'aabc123b');
    assert.equal(render('a {{- /* a comment */ -}} b', data), 'ab');
    assert.equal(render('x{{/* gone */}}y', data), 'xy');
    assert.equal(render('{{- 3 }}', data), '3');
    assert.equal(render('{{ -3 }}', data), '-3');
    assert.equal(render('{{range .Mounts}}\n  {{- .Type}}\n{{- end}}', data), 'bindvolume');
  });

  test('literals: strings with escapes, raw strings, numbers, chars, booleans, nil', () => {
    assert.equal(render('{{"a\\tb\\n\\"q\\"\\u00e9\\x41"}}', data), 'a\tb\n"q"éA');
    assert.equal(render('{{`raw \\t {{`}}', data), 'raw \\t {{');
    assert.equal(render('{{0x1F}} {{1_000}} {{1.5e3}} {{.5}} {{\'a\'}}', data), '31 1000 1500 0.5 97');
    assert.equal(render('{{true}} {{false}} {{nil}}', data), 'true false <nil>');
    assert.equal(render('{{"}}"}}', data), '}}');
  });
});

describe('template: parse errors', () => {
  test('say what is wrong', () => {
    parseFails('{{.ID', /unclosed action/);
    parseFails('{{if .ID}}x', /unexpected EOF/);
    parseFails('{{end}}', /unexpected \{\{end\}\}/);
    parseFails('{{else}}', /unexpected \{\{else\}\}/);
    parseFails('{{nosuch .ID}}', /function "nosuch" not defined/);
    parseFails('{{}}', /missing value for command/);
    parseFails('{{.ID | }}', /missing value for command/);
    parseFails('{{.ID | "x"}}', /non executable command in pipeline stage 2/);
    parseFails('{{(.ID}}', /unclosed left paren/);
    parseFails('{{.ID)}}', /unexpected right paren/);
    parseFails('{{"abc}}', /unterminated quoted string/);
    parseFails('{{break}}', /\{\{break\}\} outside \{\{range\}\}/);
    parseFails('{{template "x"}}', /not supported/);
    parseFails('{{if .A}}{{else}}{{else}}{{end}}', /expected end; found \{\{else\}\}/);
    parseFails('{{/* open', /unclosed comment/);
    parseFails('{{.A ^}}', /unexpected "\^"/);
    parseFails('line1\n{{.A ^}}', /template: :2:/);
  });

  test('a bad template fails before any data is read', () => {
    assert.throws(() => parseTemplate('{{.A'), TemplateError);
  });
});

describe('tabwriter', () => {
  test('Docker\'s settings: columns padded to the widest cell plus 3, at least 10; the last cell is not padded', () => {
    assert.equal(tabwrite('CONTAINER ID\tNAMES\nabc\tweb\n'), 'CONTAINER ID   NAMES\nabc            web\n');
    assert.equal(tabwrite('ID\tX\n1\t2\n'), 'ID        X\n1         2\n');
    assert.equal(tabwrite('a\tbb\tc\n'), 'a         bb        c\n');
  });

  test('counts characters, not bytes', () => {
    assert.equal(tabwrite('é…\tx\nab\ty\n', { minWidth: 0, padding: 1 }), 'é… x\nab y\n');
    // A character outside the BMP is two UTF-16 units and one column.
    assert.equal(tabwrite('\u{1F600}\tx\nab\ty\n', { minWidth: 0, padding: 1 }), '\u{1F600}  x\nab y\n');
  });

  test('a line with fewer cells ends the alignment block of the columns it lacks', () => {
    const out = tabwrite('aaaa\tb\nsingle line\nc\td\n', { minWidth: 0, padding: 1 });
    assert.equal(out, 'aaaa b\nsingle line\nc d\n');
    const mixed = tabwrite('a\tbbbbbb\tc\nxx\ty\n', { minWidth: 0, padding: 1 });
    assert.equal(mixed, 'a  bbbbbb c\nxx y\n');
  });

  test('text without a final newline keeps it that way', () => {
    assert.equal(tabwrite('a\tb', { minWidth: 0, padding: 1 }), 'a b');
  });
});

describe('formatList (Docker\'s --format for listings)', () => {
  const kind: ListKind = {
    table: 'table {{.ID}}\t{{.Name}}',
    headers: { ID: 'CONTAINER ID', Name: 'NAMES', Label: (k: string) => k.toUpperCase() },
  };
  const rows = [
    { ID: 'aaaa', Name: 'first', Label: (k: string) => (k === 'role' ? 'db' : '') },
    { ID: 'bbbbbbbbbbbbbbbb', Name: 'second', Label: () => '' },
  ];

  test('no format and "table" print the default table with its header', () => {
    const expected = 'CONTAINER ID       NAMES\naaaa               first\nbbbbbbbbbbbbbbbb   second\n';
    assert.equal(formatList(undefined, rows, kind), expected);
    assert.equal(formatList('table', rows, kind), expected);
  });

  test('a table with no rows still has its header', () => {
    assert.equal(formatList(undefined, [], kind), 'CONTAINER ID   NAMES\n');
  });

  test('table TEMPLATE: header names from the fields; \\t written literally is a tab', () => {
    assert.equal(formatList('table {{.Name}}\\t{{.ID}}', rows, kind), 'NAMES     CONTAINER ID\nfirst     aaaa\nsecond    bbbbbbbbbbbbbbbb\n');
    // Docker's functions head a column with the field's header.
    assert.equal(formatList('table {{json .Name}}\t{{upper .ID}}', rows.slice(0, 1), kind), 'NAMES     CONTAINER ID\n"first"   AAAA\n');
    assert.equal(formatList('table {{.Label "role"}}', rows.slice(0, 1), kind), 'ROLE\ndb\n');
  });

  test('a custom template is rendered once a row, without a header', () => {
    assert.equal(formatList('{{.ID}}:{{.Name}}', rows, kind), 'aaaa:first\nbbbbbbbbbbbbbbbb:second\n');
    assert.equal(formatList('{{.Name}}\\n--', rows.slice(0, 1), kind), 'first\n--\n');
    assert.equal(formatList('{{.ID}}', [], kind), '');
  });

  test('json is one object a line', () => {
    assert.equal(formatList('json', rows, kind), '{"ID":"aaaa","Name":"first"}\n{"ID":"bbbbbbbbbbbbbbbb","Name":"second"}\n');
  });

  test('a template error is the user\'s: exit status 125 as other refusals of the command line, with Go\'s message', () => {
    for (const f of ['{{.Nope}}', '{{.ID']) {
      assert.throws(() => formatList(f, rows, kind), (e: unknown) => {
        assert.ok(e instanceof EngineError);
        assert.equal(e.exitCode, 125);
        assert.match(e.message, /^template/);
        return true;
      });
    }
  });

  test('formatEach renders inspect documents as maps: a missing key is <no value>', () => {
    assert.equal(formatEach('{{.Name}} {{.Nope}}', [{ Name: 'a' }, { Name: 'b' }]), 'a <no value>\nb <no value>\n');
  });
});
