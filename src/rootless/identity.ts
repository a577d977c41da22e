import { userInfo } from 'node:os';

/** Who is running rootlet: the host user whose namespace and store we use. */
export interface Identity {
  uid: number;
  gid: number;
  name: string;
  home: string;
}

/**
 * The variables rootlet gives the processes it leaves in the user's
 * namespace (conmon, and through it the exit hook, which runs as root of
 * the namespace): who the user is on the host, and which holder to use.
 */
export const ENV_HOST_UID = 'ROOTLET_HOST_UID';
export const ENV_HOST_GID = 'ROOTLET_HOST_GID';
export const ENV_HOST_USER = 'ROOTLET_HOST_USER';
export const ENV_HOLDER = 'ROOTLET_NS_HOLDER';

export function currentIdentity(env: NodeJS.ProcessEnv = process.env): Identity {
  const info = userInfo();
  const uid = process.getuid!();
  if (uid === 0 && env[ENV_HOST_UID] && env[ENV_HOLDER]) {
    // Inside the user's namespace, where we appear as root: act as the host user.
    return { uid: Number(env[ENV_HOST_UID]), gid: Number(env[ENV_HOST_GID] ?? 0), name: env[ENV_HOST_USER] ?? info.username, home: env.HOME || info.homedir };
  }
  return { uid, gid: process.getgid!(), name: info.username, home: env.HOME || info.homedir };
}

export function identityEnv(id: Identity, holderPid: number): Record<string, string> {
  return { [ENV_HOST_UID]: String(id.uid), [ENV_HOST_GID]: String(id.gid), [ENV_HOST_USER]: id.name, [ENV_HOLDER]: String(holderPid) };
}
