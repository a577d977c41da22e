// Figure: published ports, host -> container. Bulk TCP throughput (1 GiB
// into a busybox `nc -l` through a published port) and connection latency
// (1,000 short HTTP requests, a new connection each, to a busybox httpd),
// rootlet's default network against Podman's default rootless network.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { summarize } from '../lib/measure.mjs';
import { engines, PODMAN_NOTE, removeAll, runDetachedArgv } from '../lib/engines.mjs';

export const id = 'network';

const GIB = 1024 ** 3;
const BYTES = Number(process.env.BENCH_NET_BYTES) > 0 ? Number(process.env.BENCH_NET_BYTES) : GIB;
const ROUNDS = 3;
const REQUESTS = Number(process.env.BENCH_NET_REQUESTS) > 0 ? Number(process.env.BENCH_NET_REQUESTS) : 1000;
const PORTS = { rootlet: { sink: 18901, http: 18902 }, podmanSlirp: { sink: 18911, http: 18912 } };
// A receiver that takes one connection after another and throws the bytes away (nc -e: a plain
// `nc -l` would end the connection when its own stdin, /dev/null, ends).
const SINK = ['sh', '-c', 'printf "#!/bin/sh\\ncat >/dev/null\\n" > /sink && chmod +x /sink && exec nc -ll -p 5000 -e /sink'];
const HTTPD = ['httpd', '-f', '-p', '80', '-h', '/www'];

/** Sends `bytes` zeros to 127.0.0.1:port; resolves to ms from connect to the receiver closing after the last byte. */
function sendBulk(port, bytes) {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1 << 20);
    let sent = 0;
    let t0 = 0n;
    const s = net.connect(port, '127.0.0.1', () => {
      t0 = process.hrtime.bigint();
      const pump = () => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    s.on('data', () => {});
    s.on('error', reject);
    s.on('close', () => (sent >= bytes ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`closed after ${sent} bytes`))));
  });
}

/** One HTTP/1.0 request on a new connection; resolves to ms until the response has ended. */
function request(port) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let got = '';
    const s = net.connect(port, '127.0.0.1', () => s.end('GET /index.html HTTP/1.0\r\n\r\n'));
    s.setEncoding('latin1');
    s.on('data', (d) => { got += d; });
    s.on('error', reject);
    s.on('close', () => (got.startsWith('HTTP/1.') ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`bad response: ${got.slice(0, 80)}`))));
  });
}

async function waitFor(port) {
  for (let i = 0; i < 100; i++) {
    try {
      await request(port);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`nothing answers on 127.0.0.1:${port}`);
}

export async function run(sb, { progress }) {
  const E = engines(sb);
  const configs = [
    { ...E.rootlet, label: 'rootlet, default network (its shared stack, rootlet-portfwd)', net: [] },
    { ...E.podmanSlirp, label: 'Podman, default network (slirp4netns, rootlessport)' },
  ];
  const names = (e) => [`bench-net-sink-${e.key}`, `bench-net-http-${e.key}`];
  const results = new Map(configs.map((e) => [e.key, { bulk: [], latency: [] }]));
  try {
    for (const e of configs) {
      const [sink, http] = names(e);
      const p = PORTS[e.key];
      sb.exec(runDetachedArgv({ ...e, runFlags: ['-p', `${p.sink}:5000`] }, sink, SINK), `${e.label}: run sink`);
      sb.exec(runDetachedArgv({ ...e, runFlags: ['-p', `${p.http}:80`] }, http, HTTPD), `${e.label}: run httpd`);
      await waitFor(p.http);
    }
    // Rounds interleave the engines so that the host's drifting load hits both alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const e of round % 2 ? [...configs].reverse() : configs) {
        const p = PORTS[e.key];
        const r = results.get(e.key);
        await sleep(300);
        r.bulk.push(await sendBulk(p.sink, BYTES));
        const lat = [];
        for (let i = 0; i < Math.ceil(REQUESTS / ROUNDS); i++) lat.push(await request(p.http));
        r.latency.push(...lat);
      }
      progress(round + 1, ROUNDS);
    }
  } finally {
    for (const e of configs) for (const p of removeAll(sb, e, names(e))) process.stderr.write(`\nbench: cleanup: ${p}\n`);
  }
  const rows = configs.map((e) => {
    const r = results.get(e.key);
    const ms = [...r.bulk].sort((a, b) => a - b)[1] ?? r.bulk[0];
    const lat = summarize(r.latency);
    return {
      tool: e.label,
      gbit_s: (BYTES * 8) / (ms / 1000) / 1e9,
      bulk_ms: ms,
      lat_median_ms: lat.median,
      lat_p90_ms: lat.p90,
      requests_s: 1000 / lat.mean,
      bulk_samples_ms: r.bulk,
      requests: r.latency.length,
    };
  });
  const [r, p] = rows;
  return {
    id,
    title: `published ports: ${BYTES / GIB} GiB host -> container (median of ${ROUNDS}), ${REQUESTS} short requests`,
    description:
      `Each engine runs a busybox \`nc -ll -e\` sink (\`cat >/dev/null\`) and a busybox httpd with published ports on its default network. ` +
      `Throughput: the driver sends ${BYTES / GIB} GiB of zeros to 127.0.0.1:PORT and times from connect to the receiver ` +
      `closing after the last byte; the median of ${ROUNDS}. Latency: HTTP/1.0 GETs of a 19-byte file, each on a new ` +
      `connection, one after another, ${REQUESTS} in all (interleaved by round with the other engine).`,
    columns: [
      { key: 'tool', label: 'engine' },
      { key: 'gbit_s', label: 'Gbit/s', digits: 2 },
      { key: 'bulk_ms', label: '1 GiB ms', digits: 0 },
      { key: 'lat_median_ms', label: 'request median ms', digits: 2 },
      { key: 'lat_p90_ms', label: 'p90 ms', digits: 2 },
      { key: 'requests_s', label: 'requests/s', digits: 0 },
    ],
    rows,
    summary: [
      { label: 'rootlet / Podman, throughput', value: r.gbit_s / p.gbit_s, text: `${(r.gbit_s / p.gbit_s).toFixed(2)}× (target ≥ 1×)` },
      { label: 'rootlet / Podman, request latency (medians)', value: r.lat_median_ms / p.lat_median_ms, text: `${(r.lat_median_ms / p.lat_median_ms).toFixed(2)}× (target ≤ 1×)` },
    ],
    notes: [
      PODMAN_NOTE,
      'rootlet: the port is bound by rootlet-portfwd (one small process per container that publishes ports), which splices ' +
        'each connection to the container\'s address on the network\'s bridge; the container sees the bridge\'s gateway as the source. ' +
        'Podman 4.3: rootlessport binds the port and connects through its rootless network namespace; outbound traffic goes through slirp4netns.',
    ],
  };
}
