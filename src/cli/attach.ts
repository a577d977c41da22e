import { startDetached, logPath } from '../engine/container-start.js';
import { containerStore, isRunning, refreshState } from '../engine/container-state.js';
import { waitContainer } from '../engine/container-stop.js';
import { EngineError } from '../engine/errors.js';
import { printRecord, readLog } from '../engine/logs.js';
import { openEngine } from './common.js';

/**
 * `start -a`: starts the container and prints its output as it comes,
 * then exits with its exit code. Output comes from the container's log,
 * so stdin is not attached (attach sockets come with `rootlet attach`).
 */
export async function attachByLogs(names: string[]): Promise<number> {
  if (names.length !== 1) throw new EngineError('start -a takes exactly one container');
  const engine = await openEngine();
  const store = containerStore(engine);
  const rec = store.resolve(names[0]!);
  const since = Date.now();
  if (!isRunning(engine, rec)) await startDetached(engine, rec);
  const ended = () => {
    const cur = store.get(rec.id);
    return !cur || !isRunning(engine, refreshState(engine, cur) ?? cur);
  };
  for await (const r of readLog(logPath(engine, rec.id), { follow: true, since: since - 1000, ended })) {
    printRecord(r, false, process.stdout, process.stderr);
  }
  return waitContainer(engine, rec.id);
}
