import { shq } from '../../storage/rootfs.js';
import { MTU } from './stack.js';
import { parseSubnet } from './subnet.js';

/**
 * Shell fragments run as root of the user's namespace, in its holder's
 * mount namespace, where network namespaces are kept as nsfs bind mounts
 * (no process holds them). Their directory is a shared mount point there:
 * the private mount namespaces of runtimes and conmons (made with
 * --propagation slave) see a namespace file unmounted as soon as it is, so
 * none of them keeps a finished container's namespace alive.
 */

export const BRIDGE = 'rootlet0';

/** Makes the namespace directory a shared mount point once per holder. */
export function netnsDirScript(dir: string): string {
  const d = shq(dir);
  return `mkdir -p ${d}; mountpoint -q ${d} || { mount --bind ${d} ${d} && mount --make-shared ${d}; } || exit 1`;
}

/** Creates an empty network namespace bound to $F (a stale one is replaced). */
function newNetnsScript(): string {
  return `umount -l "$F" 2>/dev/null; rm -f "$F"; touch "$F" && unshare --net="$F" ip link set lo up || exit 1`;
}

/**
 * A network's namespace: a bridge holding the gateway address; with a way
 * out, forwarding and masquerading of the subnet to the stack's interface
 * (nftables, which works in a namespace the user owns).
 *
 * Packets that connection tracking finds invalid are dropped. pasta (Debian
 * 12's, at least) sends a window update to a connection to a remote host as a
 * segment without the ACK flag. Conntrack calls that invalid, so it is not
 * translated back to the container; the namespace's own stack, owning the
 * stack's address, then answers with a reset, and pasta closes the
 * connection: outbound TCP to anything more than a few microseconds away
 * failed. The container's kernel would have ignored such a segment;
 * dropping it here does the same.
 */
export function networkUpScript(file: string, subnet: string, gateway: string, internal: boolean): string {
  const prefix = parseSubnet(subnet).prefix;
  const nat = internal ? '' : `
echo 1 > /proc/sys/net/ipv4/ip_forward
nft -f - <<'EOF' || exit 1
table ip rootlet {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr ${subnet} oifname != "${BRIDGE}" masquerade
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ct state invalid drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state invalid drop
  }
}
EOF`;
  const check = internal ? '' : 'command -v nft >/dev/null || { echo "rootlet: nft is not installed (it masquerades the traffic of networks): apt-get install nftables" >&2; exit 1; }\n';
  return `${check}F=${shq(file)}
${newNetnsScript()}
nsenter --net="$F" sh -c '
ip link add ${BRIDGE} mtu ${MTU} type bridge && ip addr add ${gateway}/${prefix} dev ${BRIDGE} && ip link set ${BRIDGE} up || exit 1${nat}
' || exit 1`;
}

/** Removes a namespace file (the namespace ends when nothing else holds it; pasta then exits). */
export function netnsRemoveScript(file: string): string {
  return `umount -l ${shq(file)} 2>/dev/null; rm -f ${shq(file)}`;
}

export interface VethPlan {
  /** The network's namespace file. */
  netFile: string;
  /** The bridge-side end, unique per container and network. */
  hostIf: string;
  iface: string;
  mac: string;
  ip: string;
  prefix: number;
  /** The default route goes through this network's gateway. */
  gateway?: string;
}

/**
 * The container's namespace at `file`, with one veth pair into each of its
 * networks' bridges, in as few processes as the kernel allows (this is on
 * every `run`'s path): one `ip` in the new namespace makes lo, every veth
 * (its bridge end sent straight into the network's namespace), the
 * addresses and the default route; then one `ip` per network puts that end
 * on the bridge. A stale file of the same name (a holder restarted under
 * it) is replaced.
 */
export function containerNetnsScript(file: string, plans: VethPlan[]): string {
  const f = shq(file);
  const inside = ['link set lo up', ...plans.flatMap((p) => containerSide(p))];
  return [
    // $F: a stack of the container's own attaches to it next (stack.ts).
    `F=${f}`,
    `[ -e ${f} ] && { umount -l ${f} 2>/dev/null; rm -f ${f}; }`,
    `: > ${f} || exit 1`,
    `unshare --net=${f} ip -b - <<'EOF' || exit 1\n${inside.join('\n')}\nEOF`,
    ...plans.map(bridgeSide),
  ].join('\n');
}

/** One veth pair from a network's bridge into a running container's namespace file (network connect). */
export function vethScript(p: VethPlan, ctrFile: string): string {
  return `nsenter --net=${shq(ctrFile)} ip -b - <<'EOF' || exit 1\n${containerSide(p).join('\n')}\nEOF\n${bridgeSide(p)}`;
}

/** `ip -b` lines run in the container's namespace: the pair, its bridge end moved to the network's namespace. */
function containerSide(p: VethPlan): string[] {
  return [
    `link add ${p.iface} mtu ${MTU} address ${p.mac} type veth peer name ${p.hostIf} mtu ${MTU} netns ${p.netFile}`,
    `addr add ${p.ip}/${p.prefix} dev ${p.iface}`,
    `link set dev ${p.iface} up`,
    ...(p.gateway ? [`route add default via ${p.gateway} dev ${p.iface}`] : []),
  ];
}

/** The pair's bridge end joins the bridge, in the network's namespace. */
function bridgeSide(p: VethPlan): string {
  return `nsenter --net=${shq(p.netFile)} ip link set dev ${p.hostIf} master ${BRIDGE} up || exit 1`;
}

/** Removes a container's veth from a network (its peer goes with it). */
export function vethRemoveScript(netFile: string, hostIf: string): string {
  return `${vethRemoveCommand(netFile, hostIf).map(shq).join(' ')} 2>/dev/null`;
}

/** vethRemoveScript as one command line, for a caller that needs no shell (a missing veth fails it harmlessly). */
export function vethRemoveCommand(netFile: string, hostIf: string): string[] {
  return ['nsenter', `--net=${netFile}`, 'ip', 'link', 'del', hostIf];
}

/** The bridge-side interface name of a container on a network (at most 15 characters). */
export function hostIfName(containerId: string, networkId: string): string {
  return `rl${containerId.slice(0, 8)}${networkId.slice(0, 4)}`;
}
