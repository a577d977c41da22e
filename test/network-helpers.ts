import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A TCP server on the host's loopback that answers every request with an
 * HTTP response carrying `body`. It runs in a child process: the tests
 * call rootlet with spawnSync, which blocks their own event loop.
 */
export async function hostServer(port: number, body: string): Promise<{ close(): void }> {
  const code = `
    const srv = require('node:net').createServer((c) => {
      let req = '';
      c.on('data', (d) => {
        req += d;
        // Answered once the request is read: closing with unread input would reset the connection.
        if (req.includes('\\r\\n\\r\\n')) c.end('HTTP/1.0 200 OK\\r\\nContent-Length: ' + ${JSON.stringify(body)}.length + '\\r\\n\\r\\n' + ${JSON.stringify(body)});
      });
      c.on('error', () => {});
    });
    srv.listen(${port}, '127.0.0.1', () => process.stdout.write('listening\\n'));
    process.stdin.on('end', () => process.exit(0)).resume();`;
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`the host test server on port ${port} exited ${c}`)));
  });
  return { close: () => { child.stdin!.end(); child.kill(); } };
}
