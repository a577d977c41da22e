#!/usr/bin/env bash
# A "remote host" for the outbound network tests (run as root, by test.sh):
# a network namespace routed from the host's, with a TCP and DNS server of
# the tests' own (test/fixtures/remote-host-server.mjs). It stands for a
# server beyond the host, which loopback and the host's own addresses
# cannot: traffic to it leaves through the host's routing table, as traffic
# to the internet does. Its replies are paced (HTB) so that its round trip
# looks like a real network's, not a veth's few microseconds: pasta treats
# near destinations differently, and the bug the tests guard against
# (src/engine/networks/bridge.ts) showed only with far ones.
# Usage: test-remote-host.sh up SERVER.mjs | down     Prints the address on up.
set -euo pipefail
ns=rootlet-remote host_if=rl-remote host_ip=198.18.7.1 remote_ip=198.18.7.2
pidfile=/run/rootlet-remote-server.pid

down() {
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$host_if" 2>/dev/null || true
}

case "${1:-}" in
  up)
    server=${2:?usage: test-remote-host.sh up SERVER.mjs}
    down
    ip netns add "$ns"
    ip link add "$host_if" type veth peer name eth0 netns "$ns"
    ip addr add "$host_ip/30" dev "$host_if"
    ip link set "$host_if" up
    ip netns exec "$ns" sh -c "ip link set lo up && ip addr add $remote_ip/30 dev eth0 && ip link set eth0 up && ip route add default via $host_ip"
    if ! ip netns exec "$ns" sh -c 'tc qdisc add dev eth0 root handle 1: htb default 10 &&
        tc class add dev eth0 parent 1: classid 1:10 htb rate 300kbit burst 1 cburst 1' 2>/dev/null; then
      echo "test-remote-host: no HTB qdisc here; the remote host answers at veth speed" >&2
    fi
    log=$(mktemp)
    ip netns exec "$ns" setsid node "$server" "$remote_ip" </dev/null >"$log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
    grep -q listening "$log" || { echo "test-remote-host: the server did not start: $(cat "$log")" >&2; exit 1; }
    rm -f "$log"
    echo "$remote_ip"
    ;;
  down) down ;;
  *) echo "usage: test-remote-host.sh up SERVER.mjs | down" >&2; exit 2 ;;
esac
