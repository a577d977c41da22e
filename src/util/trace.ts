/** Phase timings on stderr when ROOTLET_TRACE is set: how the benchmarks see where a run spends its time. */
const enabled = !!process.env.ROOTLET_TRACE;
const t0 = performance.timeOrigin;

export function trace(phase: string): void {
  if (enabled) process.stderr.write(`[trace] ${(performance.timeOrigin - t0 + performance.now()).toFixed(1)}ms ${phase}\n`);
}
