/**
 * The environment of the process the engine runs in: not the caller's
 * (that comes in a CallerContext), but the engine's own, which says where
 * the user's store and runtime directory are (XDG_*), what rootlet's
 * helpers and conmon inherit, and the engine's tuning switches
 * (ROOTLET_*). The one place in src/engine that reads process.env.
 */
export function engineEnv(): NodeJS.ProcessEnv {
  return process.env;
}
