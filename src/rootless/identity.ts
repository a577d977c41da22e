import { userInfo } from 'node:os';

/** Who is running rootlet: the host user whose namespace and store we use. */
export interface Identity {
  uid: number;
  gid: number;
  name: string;
  home: string;
}

export function currentIdentity(): Identity {
  const info = userInfo();
  return {
    uid: process.getuid!(),
    gid: process.getgid!(),
    name: info.username,
    home: process.env.HOME || info.homedir,
  };
}
