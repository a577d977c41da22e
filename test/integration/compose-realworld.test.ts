import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';

// Issue 14: a compose file from a public project runs unchanged. This is
// the compose.yaml of Docker's own "Get started with Docker Compose"
// sample (a web app built from the directory, publishing 8000:5000, and
// redis:alpine), byte for byte. Only what the file points at is local:
// `redis:alpine` is a small busybox image built here under that name
// (there is no registry to pull it from), and the build context's
// Dockerfile serves the same page from busybox's httpd instead of Flask,
// asking redis over the project network by its service name.

const COMPOSE_YAML = `services:
  web:
    build: .
    ports:
      - "8000:5000"
  redis:
    image: "redis:alpine"
`;

const WEB_DOCKERFILE = `FROM busybox
COPY --chmod=755 hello.cgi /www/cgi-bin/hello
CMD ["httpd", "-f", "-p", "5000", "-h", "/www"]
`;

/** The app: the page the sample's Flask app serves, with redis's answer (CRLF headers: a CGI speaks HTTP). */
const HELLO_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "Hello World! redis says $(echo PING | nc -w 5 redis 6379)"
`;

const REDIS_DOCKERFILE = `FROM busybox
RUN printf '#!/bin/sh\\nread line\\necho "+PONG"\\n' > /pong && chmod +x /pong
EXPOSE 6379
CMD ["nc", "-ll", "-p", "6379", "-e", "/pong"]
`;

describe('compose: a public project\'s compose file, unchanged', () => {
  const sb = new Sandbox('compose-real');
  const proj = sb.path('composetest');

  before(() => {
    sb.importBusybox();
    mkdirSync(join(proj, '..', 'redis'), { recursive: true });
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, 'compose.yaml'), COMPOSE_YAML);
    writeFileSync(join(proj, 'Dockerfile'), WEB_DOCKERFILE);
    writeFileSync(join(proj, 'hello.cgi'), HELLO_CGI);
    writeFileSync(join(proj, '..', 'redis', 'Dockerfile'), REDIS_DOCKERFILE);
    sb.ok(['build', '-q', '-t', 'redis:alpine', join(proj, '..', 'redis')]);
  });
  after(() => {
    sb.run(['compose', 'down', '-v', '--rmi', 'local'], { cwd: proj });
    sb.destroy();
  });

  test('Docker\'s getting-started compose.yaml: up -d builds and starts it, the page answers on 8000 and reaches redis by name, down removes it', async () => {
    sb.ok(['compose', 'up', '-d'], { cwd: proj });
    const names = sb.ok(['compose', 'ps', '--format', '{{.Name}}'], { cwd: proj }).trim().split('\n').sort();
    assert.deepEqual(names, ['composetest-redis-1', 'composetest-web-1']);
    // From the host, as the sample's user opens it in a browser.
    let page = '';
    const deadline = Date.now() + 60_000;
    while (!page.includes('+PONG')) {
      if (Date.now() > deadline) assert.fail(`the page on port 8000 never answered with redis's reply: ${JSON.stringify(page)}`);
      page = await fetch('http://127.0.0.1:8000/cgi-bin/hello').then((r) => r.text(), () => '');
      if (!page.includes('+PONG')) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(page.trim(), 'Hello World! redis says +PONG');
    sb.ok(['compose', 'down'], { cwd: proj });
    assert.equal(sb.ok(['ps', '-aq', '--filter', 'label=com.docker.compose.project=composetest']), '');
    assert.doesNotMatch(sb.ok(['network', 'ls', '--format', '{{.Name}}']), /composetest_default/);
  });
});
