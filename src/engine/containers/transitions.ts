/**
 * A container's life as the state database records it, and the moves
 * between its states. Two processes change a container's state at once:
 * the rootlet that the user runs (start, stop, kill, rm) and conmon's exit
 * hook (a rootlet process of its own, which records an exit and applies the
 * restart policy). Each move is one conditional UPDATE on the state it
 * starts from (and, where a run is named, its run token), so that when two
 * of them race exactly one wins and the other sees it lost. The store
 * (store.ts) runs the moves; this module only names them.
 */

/** The states a container's row holds (the `state` column). */
export type ContainerPhase = 'created' | 'running' | 'stopping' | 'restarting' | 'exited' | 'removing';

/** What the rest of rootlet (ps, inspect, wait) sees: Docker's states. */
export type VisibleState = 'created' | 'running' | 'exited' | 'removing';

export const PHASES: readonly ContainerPhase[] = ['created', 'running', 'stopping', 'restarting', 'exited', 'removing'];

export type MoveName = 'start' | 'restart' | 'stop' | 'cancelRestart' | 'stopIdle' | 'exit' | 'scheduleRestart' | 'remove';

export interface Move {
  from: readonly ContainerPhase[];
  /** undefined: the state stays as it is (only the stopped-by-user mark changes). */
  to?: ContainerPhase;
  /** Only for the run its token names (the mover read that run and acts on it alone). */
  sameRun?: boolean;
  /** Only while no stop asked the container to stay down. */
  unlessStopped?: boolean;
  /** What the move does to the stopped-by-user mark. */
  stoppedByUser?: 'set' | 'clear';
}

/**
 * The moves. A stop always wins over the restart policy: it marks the
 * container before it signals anything ("stopping", stopped by user), the
 * policy may only schedule a restart of a container that no stop marked
 * (in the same UPDATE), a stop between two runs cancels the scheduled
 * restart, and only a scheduled restart becomes the next run.
 */
export const MOVES: Readonly<Record<MoveName, Move>> = {
  /** A user's start (run, start, restart): a new run, whatever the policy had scheduled. */
  start: { from: ['created', 'exited', 'restarting'], to: 'running', stoppedByUser: 'clear' },
  /** The exit hook's new run, after the back-off: only if the restart is still scheduled for its run. */
  restart: { from: ['restarting'], to: 'running', sameRun: true },
  /** stop, kill -9: marked before the signal, so the exit that follows is not restarted. */
  stop: { from: ['running', 'stopping'], to: 'stopping', stoppedByUser: 'set' },
  /** A stop between two runs (during the restart back-off): the next run does not come. */
  cancelRestart: { from: ['restarting'], to: 'exited', stoppedByUser: 'set' },
  /** A stop of a container that does not run: nothing to signal, but a policy must not bring it back. */
  stopIdle: { from: ['created', 'exited'], stoppedByUser: 'set' },
  /** The end of a run, recorded by whoever notices it first (exit hook, any look, the foreground rootlet). */
  exit: { from: ['running', 'stopping'], to: 'exited' },
  /** The exit hook's decision to bring the run back (restart policy). */
  scheduleRestart: { from: ['exited'], to: 'restarting', sameRun: true, unlessStopped: true },
  /** rm: from anything; a removal cut short is finished by the next look. */
  remove: { from: PHASES, to: 'removing' },
};

/** Whether `move` may start from `phase`. */
export function canMove(move: MoveName, phase: ContainerPhase): boolean {
  return MOVES[move].from.includes(phase);
}

/** The state `move` leaves a container in, from `phase` (undefined if it may not start there). */
export function moveTarget(move: MoveName, phase: ContainerPhase): ContainerPhase | undefined {
  if (!canMove(move, phase)) return undefined;
  return MOVES[move].to ?? phase;
}

/** The moves a stop tries, in this order, inside one transaction: exactly one of them applies to a container that is not being removed. */
export const STOP_MOVES: readonly MoveName[] = ['stop', 'cancelRestart', 'stopIdle'];

/**
 * Docker's view of a phase: a container being stopped still runs, and one
 * waiting for its restart has exited (as `ps`, `inspect` and `wait` have
 * always shown it).
 */
export function visibleState(phase: ContainerPhase): VisibleState {
  switch (phase) {
    case 'stopping': return 'running';
    case 'restarting': return 'exited';
    default: return phase;
  }
}

/** Rows of a newer or damaged database may hold a word this version does not know: read it as the nearest visible state. */
export function parsePhase(s: string): ContainerPhase {
  return (PHASES as readonly string[]).includes(s) ? s as ContainerPhase : 'exited';
}
