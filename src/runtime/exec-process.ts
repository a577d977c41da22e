import { DEFAULT_CAPS, ociConsoleSize, type ConsoleSize, type ProcessUser } from './spec.js';

export interface ExecProcessInput {
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  terminal: boolean;
  /** The terminal's size when the process starts (why: ociConsoleSize in spec.ts). */
  consoleSize?: ConsoleSize;
  /** The container's bounding set and no_new_privs (its spec's); absent: the defaults. */
  caps?: string[];
  noNewPrivileges?: boolean;
}

/**
 * The OCI process (`runc exec --process FILE`) of a command run in an
 * existing container. Given whole, so that nothing of the container's own
 * process (its user, capabilities, terminal) leaks into the new one, and
 * the capabilities are those `run` gives: Docker's set for root, none
 * effective for another user.
 */
export function buildExecProcess(input: ExecProcessInput): object {
  const bounding = input.caps ?? DEFAULT_CAPS;
  const caps = input.user.uid === 0 ? bounding : [];
  return {
    terminal: input.terminal,
    ...ociConsoleSize(input.terminal, input.consoleSize),
    user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
    args: input.args,
    env: input.env,
    cwd: input.cwd,
    capabilities: { bounding, effective: caps, permitted: caps, inheritable: [] },
    noNewPrivileges: !!input.noNewPrivileges,
  };
}
