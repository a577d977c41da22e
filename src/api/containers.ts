import { DEFAULT_DETACH_KEYS, parseDetachKeys, type AttachResult, type ContainerSummary, type ExecRequest } from '../engine/index.js';
import { statusText } from '../docker/status.js';
import { errorMessage } from '../util/errors.js';
import { createRequest } from './create-body.js';
import { ApiError, badRequest, boolParam, filtersParam, intParam, noContent, readJson, sendJson } from './http.js';
import type { Call, Router } from './router.js';
import { apiContext, framed, openRaw, RemoteTerminal, sink, STDERR, STDOUT } from './streams.js';
import { Fields } from './create-body.js';
import { updateRequest } from './update-body.js';

/**
 * /containers/... and /exec/...: each handler reads the request, calls one
 * engine service method, and writes Docker's answer. Attach and exec run
 * over the connection the client hands over (Upgrade: tcp), with the
 * engine's own attach and exec given that connection as the caller's streams.
 */

interface Inspected {
  Id: string;
  Name: string;
  Config?: { Tty?: boolean; OpenStdin?: boolean };
  State?: { Running?: boolean; Status?: string; ExitCode?: number };
  HostConfig?: { AutoRemove?: boolean };
}

async function inspected(c: Call, ref: string): Promise<Inspected> {
  return await c.svc.containers.inspect(ref) as unknown as Inspected;
}

function summary(s: ContainerSummary, now: number): Record<string, unknown> {
  return {
    Id: s.id,
    Names: [`/${s.name}`],
    Image: s.image,
    ImageID: s.imageId,
    Command: s.command,
    Created: Math.floor(s.created / 1000),
    Ports: s.ports.map((p) => ({ IP: p.hostIp || '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol })),
    Labels: s.labels,
    State: s.state,
    Status: statusText(s, now),
    ...(s.size ? { SizeRw: s.size.rw, SizeRootFs: s.size.rootFs } : {}),
    HostConfig: { NetworkMode: s.networks[0] ?? 'default' },
    NetworkSettings: { Networks: Object.fromEntries(s.networks.map((n) => [n, {}])) },
    Mounts: s.mounts,
  };
}

/** Go's os.FileMode of a POSIX st_mode: the docker CLI reads the archive stat header's mode as one. */
function goFileMode(mode: number): number {
  const kinds: Record<number, number> = { 0o040000: 2 ** 31, 0o120000: 2 ** 27, 0o010000: 2 ** 25, 0o140000: 2 ** 24, 0o060000: 2 ** 26, 0o020000: 2 ** 26 + 2 ** 21 };
  let m = (mode & 0o777) + (kinds[mode & 0o170000] ?? 0);
  if (mode & 0o4000) m += 2 ** 23;
  if (mode & 0o2000) m += 2 ** 22;
  if (mode & 0o1000) m += 2 ** 20;
  return m;
}

export function containerRoutes(r: Router): void {
  r.add('GET', '/containers/json', async (c) => {
    const limit = intParam(c.query, 'limit');
    const list = await c.svc.containers.list({
      all: boolParam(c.query, 'all'),
      size: boolParam(c.query, 'size'),
      filters: filtersParam(c.query),
      ...(limit && limit > 0 ? { last: limit } : {}),
    });
    const now = Date.now();
    sendJson(c.res, 200, list.map((s) => summary(s, now)));
  });

  r.add('POST', '/containers/create', async (c) => {
    const req = createRequest(await readJson(c.req, c.upgrade?.body), c.query);
    const warnings: string[] = [];
    // Docker answers 404 for an image it does not have, and the client pulls it (showing progress); so does this.
    const { id } = await c.svc.containers.create(req, { pull: 'never', warn: (l) => warnings.push(l) });
    sendJson(c.res, 201, { Id: id, Warnings: warnings });
  });

  r.add('GET', '/containers/{id}/json', async (c) => {
    sendJson(c.res, 200, await c.svc.containers.inspect(c.params.id!, { size: boolParam(c.query, 'size') }));
  });

  r.add('POST', '/containers/{id}/start', async (c) => {
    const rec = await inspected(c, c.params.id!);
    try {
      await start(c, rec);
    } catch (err) {
      // As Docker: a container made with AutoRemove that cannot start is removed (the client's wait for "removed" then ends).
      if (rec.HostConfig?.AutoRemove) await c.svc.containers.remove(rec.Id, { force: true }).catch(() => {});
      throw err;
    }
  });
  async function start(c: Call, rec: Inspected): Promise<void> {
    const pending = c.sessions.takePending(rec.Id);
    if (!pending.length) {
      if (rec.State?.Running) return noContent(c.res, 304);
      await c.svc.containers.start(rec.Id);
      return noContent(c.res);
    }
    // An attach is waiting (docker run): it joins before the container starts, so no output is lost.
    const [first, ...rest] = pending;
    for (const p of rest) p.settle(new ApiError(409, 'only one attach may wait for a container\'s start'));
    await new Promise<void>((resolve, reject) => {
      let started = false;
      c.svc.containers.startAttached(rec.Id, first!.req, first!.ctx, { started: () => { started = true; resolve(); } })
        .then((r) => { first!.settle(r); resolve(); })
        .catch((err: unknown) => {
          first!.settle(err instanceof Error ? err : new Error(String(err)));
          if (!started) reject(err);
        });
    });
    noContent(c.res);
  }

  r.add('POST', '/containers/{id}/stop', async (c) => {
    const rec = await inspected(c, c.params.id!);
    if (!rec.State?.Running) return noContent(c.res, 304);
    const t = intParam(c.query, 't') ?? intParam(c.query, 'timeout');
    await c.svc.containers.stop(rec.Id, t !== undefined && t >= 0 ? { timeoutSec: t } : {});
    noContent(c.res);
  });

  r.add('POST', '/containers/{id}/restart', async (c) => {
    const t = intParam(c.query, 't') ?? intParam(c.query, 'timeout');
    await c.svc.containers.restart(c.params.id!, t !== undefined && t >= 0 ? { timeoutSec: t } : {});
    noContent(c.res);
  });

  r.add('POST', '/containers/{id}/kill', async (c) => {
    const rec = await inspected(c, c.params.id!);
    if (!rec.State?.Running) throw new ApiError(409, `Container ${rec.Id} is not running`);
    const sig = c.query.get('signal') || undefined;
    await c.svc.containers.kill(rec.Id, sig ? { signal: /^\d+$/.test(sig) || sig.startsWith('SIG') ? sig : `SIG${sig}` } : {});
    noContent(c.res);
  });

  r.add('POST', '/containers/{id}/pause', async (c) => { await c.svc.containers.pause(c.params.id!); noContent(c.res); });
  r.add('POST', '/containers/{id}/unpause', async (c) => { await c.svc.containers.unpause(c.params.id!); noContent(c.res); });

  r.add('POST', '/containers/{id}/rename', async (c) => {
    const name = c.query.get('name');
    if (!name) throw badRequest('rename: the new name (name=) is required');
    await c.svc.containers.rename(c.params.id!, name.replace(/^\//, ''));
    noContent(c.res);
  });

  r.add('POST', '/containers/{id}/update', async (c) => {
    const req = updateRequest(await readJson(c.req));
    await c.svc.containers.update(c.params.id!, req);
    sendJson(c.res, 200, { Warnings: [] });
  });

  r.add('DELETE', '/containers/{id}', async (c) => {
    const force = boolParam(c.query, 'force');
    const rec = await inspected(c, c.params.id!);
    if (rec.State?.Running && !force) {
      throw new ApiError(409, `cannot remove container "${rec.Name.replace(/^\//, '')}": container is running: stop the container before removing or force remove`);
    }
    await c.svc.containers.remove(rec.Id, { force, volumes: boolParam(c.query, 'v') });
    noContent(c.res);
  });

  r.add('POST', '/containers/{id}/wait', async (c) => {
    const condition = c.query.get('condition') || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw badRequest(`invalid condition: ${JSON.stringify(condition)} (not-running, next-exit or removed)`);
    const rec = await inspected(c, c.params.id!);
    // The header goes first, as Docker sends it: the client then knows the wait is in place and may start the container.
    c.res.writeHead(200, { 'Content-Type': 'application/json' });
    c.res.flushHeaders();
    let code: number;
    try {
      code = condition === 'not-running' && !rec.State?.Running && rec.State?.Status !== 'created'
        ? rec.State?.ExitCode ?? 0
        : await c.svc.containers.wait(rec.Id, { signal: c.signal }).catch((err: unknown) => {
          // Waiting for its removal, and it is gone without an exit (an AutoRemove container that could not start): that is the end waited for.
          if (condition === 'removed' && !c.signal.aborted) return 0;
          throw err;
        });
      if (condition === 'removed') await untilRemoved(c, rec.Id);
    } catch (err) {
      if (c.signal.aborted) return;
      c.res.end(JSON.stringify({ StatusCode: 125, Error: { Message: errorMessage(err) } }));
      return;
    }
    c.res.end(JSON.stringify({ StatusCode: code, Error: null }));
  });

  r.add('POST', '/containers/{id}/attach', async (c) => {
    const rec = await inspected(c, c.params.id!);
    const tty = !!rec.Config?.Tty;
    const stdin = boolParam(c.query, 'stdin');
    const conn = openRaw(c.res, c.upgrade, !tty);
    const streams = {
      stdout: framed(conn.out, STDOUT, tty, boolParam(c.query, 'stdout')),
      stderr: framed(conn.out, STDERR, tty, boolParam(c.query, 'stderr')),
      ...(stdin && conn.input ? { stdin: conn.input } : {}),
      ...(tty ? { terminal: new RemoteTerminal() } : {}),
    };
    const ctx = apiContext(streams, c.signal);
    const req = { stdin: stdin && !!conn.input, detachKeys: parseDetachKeys(c.query.get('detachKeys') ?? DEFAULT_DETACH_KEYS) };
    const stopResize = streams.terminal ? c.sessions.addTerminal(rec.Id, streams.terminal) : undefined;
    try {
      if (!boolParam(c.query, 'stream', true) && !boolParam(c.query, 'logs')) return;
      if (rec.State?.Running) {
        await c.svc.containers.attach(rec.Id, req, ctx);
      } else if (rec.State?.Status === 'created' || rec.State?.Status === 'exited') {
        // Not started yet (docker run attaches first): the start request runs the session.
        await new Promise<AttachResult | void>((resolve) => {
          const drop = c.sessions.addPending(rec.Id, { req, ctx, settle: (r) => resolve(r instanceof Error ? undefined : r) });
          c.signal.addEventListener('abort', () => { drop(); resolve(); }, { once: true });
        });
      }
    } catch (err) {
      streams.stderr.write(Buffer.from(`Error: ${errorMessage(err)}\n`));
    } finally {
      stopResize?.();
      conn.end();
    }
  });

  r.add('POST', '/containers/{id}/resize', async (c) => {
    const rec = await inspected(c, c.params.id!);
    const h = intParam(c.query, 'h') ?? 0;
    const w = intParam(c.query, 'w') ?? 0;
    c.sessions.resize(rec.Id, h, w);
    noContent(c.res, 200);
  });

  r.add('GET', '/containers/{id}/logs', async (c) => {
    const rec = await inspected(c, c.params.id!);
    const tty = !!rec.Config?.Tty;
    const stdout = boolParam(c.query, 'stdout');
    const stderr = boolParam(c.query, 'stderr');
    if (!stdout && !stderr) throw badRequest('you must choose at least one stream (stdout=1 or stderr=1)');
    const tail = c.query.get('tail');
    const since = seconds(c.query.get('since'));
    const until = seconds(c.query.get('until'));
    c.res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    c.res.flushHeaders();
    const ctx = apiContext({ stdout: framed(c.res, STDOUT, tty, stdout), stderr: framed(c.res, STDERR, tty, stderr) }, c.signal);
    try {
      await c.svc.containers.logs(rec.Id, {
        follow: boolParam(c.query, 'follow'),
        timestamps: boolParam(c.query, 'timestamps'),
        ...(tail && tail !== 'all' && /^\d+$/.test(tail) ? { tail: Number(tail) } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
      }, ctx);
    } finally {
      if (!c.res.writableEnded) c.res.end();
    }
  });

  r.add('GET', '/containers/{id}/top', async (c) => {
    const ps = c.query.get('ps_args');
    const t = await c.svc.containers.top(c.params.id!, ps ? ps.split(/\s+/).filter(Boolean) : []);
    sendJson(c.res, 200, { Titles: t.titles, Processes: t.processes });
  });

  r.add('GET', '/containers/{id}/changes', async (c) => {
    const kinds: Record<string, number> = { C: 0, A: 1, D: 2 };
    const changes = await c.svc.containers.diff(c.params.id!);
    sendJson(c.res, 200, changes.map((ch) => ({ Path: ch.path, Kind: kinds[String(ch.kind)] ?? 0 })));
  });

  r.add('GET', '/containers/{id}/export', async (c) => {
    const rec = await inspected(c, c.params.id!);
    c.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await c.svc.containers.export(rec.Id, c.res);
    if (!c.res.writableEnded) c.res.end();
  });

  // docker cp: HEAD asks what a path is, GET takes it as a tar, PUT puts a tar into a directory.
  const pathStat = async (c: Call): Promise<string> => {
    const path = c.query.get('path');
    if (!path) throw badRequest('path is required');
    const st = await c.svc.containers.pathStat(c.params.id!, path);
    if (!st) throw new ApiError(404, `Could not find the file ${path} in container ${c.params.id!}`);
    const header = { name: st.name, size: st.size, mode: goFileMode(st.mode), mtime: new Date(st.mtime).toISOString(), linkTarget: st.linkTarget };
    return Buffer.from(JSON.stringify(header)).toString('base64');
  };
  r.add('HEAD', '/containers/{id}/archive', async (c) => {
    c.res.writeHead(200, { 'X-Docker-Container-Path-Stat': await pathStat(c), 'Content-Type': 'application/x-tar' });
    c.res.end();
  });
  r.add('GET', '/containers/{id}/archive', async (c) => {
    const stat = await pathStat(c);
    c.res.writeHead(200, { 'X-Docker-Container-Path-Stat': stat, 'Content-Type': 'application/x-tar' });
    await c.svc.containers.copyFrom(c.params.id!, c.query.get('path')!, '-', { follow: false, archive: false }, apiContext({ stdout: c.res, stderr: sink() }, c.signal));
    if (!c.res.writableEnded) c.res.end();
  });
  r.add('PUT', '/containers/{id}/archive', async (c) => {
    const path = c.query.get('path');
    if (!path) throw badRequest('path is required');
    const st = await c.svc.containers.pathStat(c.params.id!, path);
    if (!st) throw new ApiError(404, `Could not find the file ${path} in container ${c.params.id!}`);
    if ((st.mode & 0o170000) !== 0o040000) throw badRequest(`extraction point is not a directory: ${path}`);
    await c.svc.containers.copyTo(c.params.id!, '-', path, { follow: false, archive: boolParam(c.query, 'copyUIDGID') }, apiContext({ stdin: c.req, stdout: sink(), stderr: sink() }, c.signal));
    sendJson(c.res, 200, {});
  });

  r.add('POST', '/containers/prune', async (c) => {
    const r2 = await c.svc.containers.prune({ filters: filtersParam(c.query) });
    sendJson(c.res, 200, { ContainersDeleted: r2?.deleted ?? [], SpaceReclaimed: r2?.spaceReclaimed ?? 0 });
  });

  r.add('GET', '/containers/{id}/stats', async (c) => {
    const rec = await inspected(c, c.params.id!);
    const stream = boolParam(c.query, 'stream', true) && !boolParam(c.query, 'one-shot');
    c.res.writeHead(200, { 'Content-Type': 'application/json' });
    let previous: Record<string, unknown> | undefined;
    do {
      const [s] = await c.svc.containers.stats([rec.Id], { intervalMs: previous || !stream ? 1000 : 100 });
      const doc = statsDoc(rec, s);
      c.res.write(JSON.stringify({ ...doc, precpu_stats: previous ?? doc.cpu_stats }) + '\n');
      previous = doc.cpu_stats as Record<string, unknown>;
    } while (stream && !c.signal.aborted);
    if (!c.res.writableEnded) c.res.end();
  });

  // exec: made by one request, run by another, inspected for its exit code by a third.
  r.add('POST', '/containers/{id}/exec', async (c) => {
    const body = new Fields(await readJson(c.req, c.upgrade?.body), '');
    const rec = await inspected(c, c.params.id!);
    if (!rec.State?.Running) throw new ApiError(409, `container ${rec.Id} is not running`);
    const cmd = body.strOrStrs('Cmd');
    if (!cmd?.length) throw badRequest('invalid Cmd: the command to run is required');
    const req: ExecRequest = {
      command: cmd,
      interactive: !!body.bool('AttachStdin'),
      tty: !!body.bool('Tty'),
      ...(body.str('User') ? { user: body.str('User')! } : {}),
      ...(body.str('WorkingDir') ? { workingDir: body.str('WorkingDir')! } : {}),
      env: body.strs('Env') ?? [],
      privileged: !!body.bool('Privileged'),
    };
    const consoleSize = body.size('ConsoleSize');
    const s = c.sessions.newExec(rec.Id, req, { stdin: !!body.bool('AttachStdin'), stdout: body.bool('AttachStdout') ?? true, stderr: body.bool('AttachStderr') ?? true });
    if (consoleSize && consoleSize[0] && consoleSize[1]) s.consoleSize = consoleSize;
    sendJson(c.res, 201, { Id: s.id });
  });

  r.add('POST', '/exec/{id}/start', async (c) => {
    const s = c.sessions.execs.get(c.params.id!);
    if (!s) throw new ApiError(404, `No such exec instance: ${c.params.id}`);
    const body = new Fields(await readJson(c.req, c.upgrade?.body), '');
    // The size the client gave at create (start may also carry one, as newer clients send): the exec's terminal starts at it.
    const startSize = body.size('ConsoleSize');
    if (s.started) throw new ApiError(409, `exec ${s.id} has already run`);
    s.started = true;
    s.running = true;
    const tty = !!s.req.tty;
    if (body.bool('Detach')) {
      try {
        await c.svc.containers.exec(s.containerId, { ...s.req, detach: true, interactive: false }, apiContext({ stdout: sink(), stderr: sink() }, c.signal));
      } finally {
        s.running = false;
      }
      return noContent(c.res, 200);
    }
    const conn = openRaw(c.res, c.upgrade, !tty);
    const terminal = tty ? new RemoteTerminal() : undefined;
    const size = startSize && startSize[0] && startSize[1] ? startSize : s.consoleSize;
    if (terminal && size) terminal.resize(size[0], size[1]);
    s.terminal = terminal;
    const streams = {
      stdout: framed(conn.out, STDOUT, tty, s.attach.stdout),
      stderr: framed(conn.out, STDERR, tty, s.attach.stderr),
      ...(s.attach.stdin && conn.input ? { stdin: conn.input } : {}),
      ...(terminal ? { terminal } : {}),
    };
    try {
      s.exitCode = await c.svc.containers.exec(s.containerId, { ...s.req, interactive: !!streams.stdin }, apiContext(streams, c.signal));
    } catch (err) {
      s.exitCode = (err as { exitCode?: number }).exitCode ?? 126;
      streams.stderr.write(Buffer.from(`Error: ${errorMessage(err)}\n`));
    } finally {
      s.running = false;
      s.terminal = undefined;
      conn.end();
    }
  });

  r.add('POST', '/exec/{id}/resize', async (c) => {
    const s = c.sessions.execs.get(c.params.id!);
    if (!s) throw new ApiError(404, `No such exec instance: ${c.params.id}`);
    s.terminal?.resize(intParam(c.query, 'h') ?? 0, intParam(c.query, 'w') ?? 0);
    noContent(c.res, 200);
  });

  r.add('GET', '/exec/{id}/json', async (c) => {
    const s = c.sessions.execs.get(c.params.id!);
    if (!s) throw new ApiError(404, `No such exec instance: ${c.params.id}`);
    sendJson(c.res, 200, {
      ID: s.id,
      Running: s.running,
      ExitCode: s.running || !s.started ? null : s.exitCode ?? 0,
      ProcessConfig: { tty: !!s.req.tty, entrypoint: s.req.command[0], arguments: s.req.command.slice(1), privileged: !!s.req.privileged, user: s.req.user ?? '' },
      OpenStdin: s.attach.stdin,
      OpenStdout: s.attach.stdout,
      OpenStderr: s.attach.stderr,
      CanRemove: false,
      ContainerID: s.containerId,
      DetachKeys: '',
      Pid: 0,
    });
  });
}

function statsDoc(rec: Inspected, s: Awaited<ReturnType<Call['svc']['containers']['stats']>>[number] | undefined): Record<string, unknown> {
  const cpus = 1;
  return {
    read: new Date().toISOString(),
    id: rec.Id,
    name: rec.Name,
    pids_stats: { current: s?.pids ?? 0 },
    // Docker's clients compute the percentage from usage deltas; the engine's percentage is given as usage per 100 system ticks.
    cpu_stats: { cpu_usage: { total_usage: Math.round((s?.cpuPercent ?? 0) * 1e6) }, system_cpu_usage: Date.now() * 1e8, online_cpus: cpus },
    memory_stats: { usage: s?.memUsage ?? 0, limit: s?.memLimit ?? 0, stats: {} },
    blkio_stats: { io_service_bytes_recursive: [{ op: 'read', value: s?.block.read ?? 0 }, { op: 'write', value: s?.block.write ?? 0 }] },
    networks: s?.net ? { eth0: { rx_bytes: s.net.rx, tx_bytes: s.net.tx } } : {},
  };
}

/** Docker's since/until: Unix seconds, possibly with a fraction → ms. */
function seconds(v: string | null): number | undefined {
  if (!v) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw badRequest(`invalid time ${JSON.stringify(v)}: Unix seconds expected`);
  return Math.round(Number(v) * 1000);
}

async function untilRemoved(c: Call, id: string): Promise<void> {
  for (;;) {
    try {
      await c.svc.containers.inspect(id);
    } catch {
      return;
    }
    if (c.signal.aborted) throw new Error('the client went away');
    await new Promise((r) => setTimeout(r, 50));
  }
}
