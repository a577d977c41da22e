/** Phase timings on stderr when ROOTLET_TRACE is set: how the benchmarks see where a run spends its time. */
const enabled = !!process.env.ROOTLET_TRACE;

/** Milliseconds since node started; `performance` is only touched when tracing (it loads perf_hooks). */
export function trace(phase: string): void {
  if (enabled) process.stderr.write(`[trace] ${performance.now().toFixed(1)}ms ${phase}\n`);
}

/** Whether ROOTLET_TRACE is set: for a process without output of its own (the exit hook), which traces elsewhere. */
export function tracing(): boolean {
  return enabled;
}
