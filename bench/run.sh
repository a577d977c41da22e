#!/usr/bin/env bash
# rootlet's benchmarks (README: bench/README.md). Run as root, like the tests:
# it builds, stages a copy the bench user can read, and runs every figure as
# that unprivileged user — benchmarked containers are never run by root.
#
# Usage: bash bench/run.sh [FIGURE...]     (npm run bench -- FIGURE...)
# Env:   BENCH_RUNS (default 30), BENCH_WARMUP (default 3),
#        BENCH_USER (default rootlet-ci, who needs /etc/subuid and /etc/subgid ranges);
#        every other BENCH_* variable (a figure's own, bench/README.md) is passed on to the figures
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: run as root (e.g. sudo npm run bench): it runs the benchmarks as an unprivileged user" >&2
  exit 1
fi
user=${BENCH_USER:-rootlet-ci}
id "$user" >/dev/null 2>&1 || { echo "bench/run.sh: no user $user: run scripts/setup-host.sh $user first" >&2; exit 1; }
for tool in node runc podman nsenter newuidmap newgidmap busybox; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is not installed" >&2; exit 1; }
done

node scripts/build.mjs
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src scripts package.json 2>/dev/null || commit="$commit+dirty"

# The checkout may sit where the user cannot read (e.g. /root).
stage=$(mktemp -d /var/tmp/rlbench.XXXXXX)
cleanup() {
  # The driver cleans up after itself; this catches a driver that was killed
  # before it could: it recorded the pids of the namespace holders it made.
  if [ -f "$stage/pids" ]; then
    while read -r pid; do
      if grep -qs catatonit "/proc/$pid/cmdline"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done < "$stage/pids"
  fi
  # Anything still running that names the stage (conmon, slirp4netns, a
  # health loop, …) and its descendants (the containers' processes): left
  # by a killed driver, or by an engine that did not clean up after itself.
  local left
  left=$(ps -u "$user" -o pid=,ppid=,args= | awk -v stage="$stage" '
    { ppid[$1] = $2; if (index($0, stage)) mark[$1] = 1 }
    END { do { n = 0; for (p in ppid) if (!(p in mark) && (ppid[p] in mark)) { mark[p] = 1; n++ } } while (n)
          for (p in mark) print p }')
  if [ -n "$left" ]; then
    echo "bench/run.sh: still running after the driver, killed:" >&2
    ps -o pid=,args= -p "$(echo $left | tr ' ' ,)" | cut -c1-160 >&2 || true
    kill -KILL $left 2>/dev/null || true
  fi
  rm -rf "$stage"
}
trap cleanup EXIT
cp -a dist scripts bench "$stage/"
rm -rf "$stage/bench/results"
chown -R "$user:" "$stage"
chmod 0700 "$stage"

uid=$(id -u "$user")
home=$(getent passwd "$user" | cut -d: -f6)
# env -i: nothing of root's environment reaches the measured commands; in
# particular NODE_EXTRA_CA_CERTS, which adds ~100 ms to every node start.
# Only the BENCH_* variables go through (a figure's size or count).
bench_vars=()
while IFS= read -r v; do bench_vars+=("$v"); done < <(env | grep -E '^BENCH_[A-Z0-9_]+=' || true)
runuser -u "$user" -- env -i \
  HOME="$home" USER="$user" LOGNAME="$user" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
  XDG_RUNTIME_DIR="/run/user/$uid" "${bench_vars[@]}" \
  BENCH_COMMIT="$commit" BENCH_RUNS="${BENCH_RUNS:-}" BENCH_WARMUP="${BENCH_WARMUP:-}" \
  BENCH_PIDS="$stage/pids" BENCH_TMP="$stage" \
  node "$stage/bench/driver.mjs" --out "$stage/results" "$@"

mkdir -p bench/results
cp "$stage/results/latest.json" "$stage/results/latest.md" bench/results/
echo "results: bench/results/latest.md, bench/results/latest.json"
