import { EngineError } from '../../util/errors.js';
import { shq } from '../../storage/rootfs.js';
import { findInPath } from '../../util/proc.js';

/** The user-mode network stacks that connect a user's network namespace to the outside. */
export type StackName = 'pasta' | 'slirp4netns';
export const STACKS: StackName[] = ['pasta', 'slirp4netns'];

/** The MTU of the stacks' tap devices, the bridge and the veths: pasta's maximum, for throughput (docs/design.md). */
export const MTU = 65520;
/** Where pasta answers DNS (forwarded to the host's first resolver, also one on the host's loopback). */
export const PASTA_DNS = '169.254.1.1';
/** slirp4netns's fixed addresses: its DNS forwarder and the host. */
export const SLIRP_DNS = '10.0.2.3';
export const SLIRP_HOST = '10.0.2.2';

export function isStack(v: string): v is StackName {
  return (STACKS as string[]).includes(v);
}

/**
 * Which stack a network gets when none is configured, in order: slirp4netns
 * first. The default network stays up once up, so its stack's memory is
 * paid also while no container runs: ~1.4 MiB PSS for slirp4netns against
 * ~19.5 MiB for Debian 12's pasta, and neither is faster both ways
 * (docs/decisions.md, "The default network's stack").
 */
const PREFERRED: StackName[] = ['slirp4netns', 'pasta'];

/** The configured stack, else slirp4netns when installed, else pasta; a configured one that is missing is an error. */
export function chooseStack(configured: string | undefined): StackName {
  if (configured) {
    if (!isStack(configured)) throw new EngineError(`[network] default_rootless_network_cmd = "${configured}" is not a network stack: use "pasta" or "slirp4netns"`);
    if (!findInPath(configured)) throw new EngineError(`[network] default_rootless_network_cmd is ${configured}, which is not installed: ${installHint(configured)}`);
    return configured;
  }
  for (const s of PREFERRED) if (findInPath(s)) return s;
  throw new EngineError(`no user-mode network stack is installed: ${installHint('slirp4netns')} (or passt, for pasta), or run with --net none`);
}

export function requireStack(s: StackName): void {
  if (!findInPath(s)) throw new EngineError(`--network ${s}: ${s} is not installed: ${installHint(s)}`);
}

function installHint(s: StackName): string {
  return s === 'pasta' ? 'apt-get install passt' : 'apt-get install slirp4netns';
}

export function stackDns(s: StackName): string {
  return s === 'pasta' ? PASTA_DNS : SLIRP_DNS;
}

/**
 * Shell that attaches the stack to the network namespace file $F and
 * prints "pid=N host=ADDR": the stack's process, and the address where
 * the host's services answer (pasta maps its gateway address to the
 * host's loopback; slirp4netns does so for 10.0.2.2). pasta daemonizes
 * and writes its pid file; slirp4netns is put in the background in a
 * session of its own (a Ctrl-C of the foreground rootlet must not reach it).
 */
export function attachStackScript(s: StackName, pidFile: string): string {
  const pf = shq(pidFile);
  if (s === 'pasta') {
    // --runas 0:0: root of the user's namespace is the user, who must be able to signal it;
    // by default pasta drops to "nobody", a subordinate id.
    return `pasta --config-net -q -4 -t none -u none -T none -U none --mtu ${MTU} --dns-forward ${PASTA_DNS} --runas 0:0 -P ${pf} --netns "$F" ` +
      `|| { echo "rootlet: pasta could not attach to the network namespace" >&2; exit 1; }
host=$(nsenter --net="$F" ip -4 route show default | awk '{print $3; exit}')
echo "pid=$(cat ${pf}) host=$host"`;
  }
  return `setsid slirp4netns --configure --mtu=${MTU} --netns-type=path "$F" tap0 </dev/null >/dev/null 2>&1 &
pid=$!
i=0
until nsenter --net="$F" ip -4 route show default | grep -q .; do
  i=$((i+1)); [ $i -lt 200 ] && kill -0 $pid 2>/dev/null || { echo "rootlet: slirp4netns did not configure the network namespace" >&2; exit 1; }
  sleep 0.01
done
echo "pid=$pid host=${SLIRP_HOST}"`;
}

/** Parses the "pid=N host=ADDR" line of attachStackScript. */
export function parseStackLine(out: string): { pid: number; hostAddr?: string } {
  const m = /pid=(\d+) host=(\S*)/.exec(out);
  if (!m) throw new EngineError(`the network stack did not start: ${out.trim() || 'no output'}`);
  return { pid: Number(m[1]), hostAddr: m[2] || undefined };
}
