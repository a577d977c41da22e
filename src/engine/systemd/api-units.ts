import { EngineError } from '../../util/errors.js';
import { environment, line, word, type SystemdUnit } from './units.js';

/** What `system service --install` puts in the units. */
export interface ApiUnitsRequest {
  /** The command that runs rootlet: absolute paths (node and the script, or the installed wrapper). */
  rootlet: string[];
  /** The service's idle time: it exits after this many seconds without a client (0: never), and systemd starts it again at the next connection. */
  idleSec: number;
  /** Where the socket listens: a socket path or a loopback host:port; default the user's runtime directory's rootlet/docker.sock. */
  listen?: { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };
}

/** The first line of each unit: what made it, so that --uninstall removes only its own files. */
export const API_UNIT_MARK = '# made by rootlet system service --install';

/**
 * The Docker Engine API as a systemd user socket and service pair: systemd
 * holds the socket (0600, in a 0700 directory) and starts the service on
 * the first connection, passing the socket as its fd 3; the service exits
 * when idle and is started again by the next client. Nothing runs while
 * nobody uses the API.
 */
export function apiUnits(req: ApiUnitsRequest): SystemdUnit[] {
  if (!req.rootlet.length || !req.rootlet[0]!.startsWith('/')) throw new EngineError('system service --install: the rootlet command must be an absolute path');
  const listen = !req.listen
    ? '%t/rootlet/docker.sock'
    : req.listen.kind === 'unix' ? word(req.listen.path) : `${req.listen.host.includes(':') ? `[${req.listen.host}]` : req.listen.host}:${req.listen.port}`;
  const socket = [
    API_UNIT_MARK,
    '[Unit]',
    'Description=rootlet Docker Engine API socket',
    '',
    '[Socket]',
    `ListenStream=${listen}`,
    'SocketMode=0600',
    'DirectoryMode=0700',
    '',
    '[Install]',
    'WantedBy=sockets.target',
    '',
  ];
  const service = [
    API_UNIT_MARK,
    '[Unit]',
    'Description=rootlet Docker Engine API service',
    'Requires=rootlet.socket',
    'After=rootlet.socket',
    '',
    '[Service]',
    ...environment(),
    // The socket comes from systemd (LISTEN_FDS): the service serves it and binds nothing.
    `ExecStart=${line([...req.rootlet, 'system', 'service', '--time', String(req.idleSec)])}`,
    'Type=exec',
    // Idle is a clean exit, the next connection starts it again.
    'Restart=on-failure',
    '',
    '[Install]',
    'Also=rootlet.socket',
    '',
  ];
  return [{ name: 'rootlet.socket', text: socket.join('\n') }, { name: 'rootlet.service', text: service.join('\n') }];
}
