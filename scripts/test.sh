#!/usr/bin/env bash
# The test command (README): run as root. Prepares the host (idempotent),
# builds, and runs the whole suite as the unprivileged user rootlet-ci —
# containers in the tests are never run by root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: run as root (e.g. sudo npm test): it prepares test users, then runs the tests as rootlet-ci" >&2
  exit 1
fi

bash scripts/setup-host.sh rootlet-ci rootlet-ci2 rootlet-ci3 rootlet-nosub:nosub
# Test-only: the suite (as rootlet-ci) acts as the other users: rootlet-ci2
# (under the test policy below) for the isolation and policy tests,
# rootlet-ci3 (under none) for the two-user soak, rootlet-nosub (no
# subordinate ids) for the doctor tests.
if ! command -v sudo >/dev/null; then
  apt-get install -y -q --no-install-recommends sudo >/dev/null
fi
echo 'rootlet-ci ALL=(rootlet-ci2,rootlet-ci3,rootlet-nosub) NOPASSWD: ALL' > /etc/sudoers.d/rootlet-tests
chmod 0440 /etc/sudoers.d/rootlet-tests
# Test-only: an admin policy for rootlet-ci2 alone (test/integration/policy.test.ts).
install -d -o root -g root -m 0755 /etc/rootlet /etc/rootlet/policy.d
install -o root -g root -m 0644 test/fixtures/policy-rootlet-ci2.toml /etc/rootlet/policy.d/50-rootlet-tests.toml

# npm install, not npm ci: see quickstart.sh (which also says why npm_config_nodedir).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi
[ -d node_modules ] || npm install --no-audit --no-fund --loglevel=error
npm run --silent typecheck
# The layers of src (.dependency-cruiser.cjs): no cycles, nothing imports upward.
npm run --silent lint:deps
npm run --silent build

# The checkout may sit where rootlet-ci cannot read (e.g. /root): run a copy.
stage=${ROOTLET_STAGE:-/var/tmp/rootlet-test}
rm -rf "$stage"
mkdir -p "$stage"
cp -a dist build scripts package.json "$stage/"
chmod -R a+rX "$stage"

# A small filesystem of the tests' own, to fill to the last byte (the full-disk
# tests in test/integration/store-damage.test.ts): a 64 MiB tmpfs that
# rootlet-ci owns, made afresh each run beside the stage (tmpfs keeps user
# xattrs, which rootless overlay needs). Empty when the tests are done.
fullfs="$stage-fullfs"
if mountpoint -q "$fullfs"; then umount "$fullfs"; fi
mkdir -p "$fullfs"
mount -t tmpfs -o "size=64m,mode=0700,uid=$(id -u rootlet-ci),gid=$(id -g rootlet-ci)" tmpfs "$fullfs"

# ROOTLET_TEST_FILTER: space-separated paths or globs under build/test/ (e.g. 'integration/run.test.mjs unit/*').
targets=("$stage/build/test/")
if [ -n "${ROOTLET_TEST_FILTER:-}" ]; then
  targets=()
  for f in $ROOTLET_TEST_FILTER; do
    for g in "$stage"/build/test/$f; do targets+=("$g"); done
  done
fi

# A host beyond this one for the outbound network tests, in a network
# namespace routed from the host's; removed when the tests end.
# Only when the outbound tests run: the host is one per machine, so test runs
# of other files (e.g. several worktrees) do not tear down each other's.
remote=
if [ -z "${ROOTLET_TEST_FILTER:-}" ] || [[ "$ROOTLET_TEST_FILTER" == *outbound* ]]; then
  remote=$(bash scripts/test-remote-host.sh up "$PWD/test/fixtures/remote-host-server.mjs")
  trap 'bash scripts/test-remote-host.sh down' EXIT
fi

uid=$(id -u rootlet-ci)
runuser -u rootlet-ci -- env -i \
  HOME="/home/rootlet-ci" USER=rootlet-ci LOGNAME=rootlet-ci SHELL=/bin/bash \
  PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
  XDG_RUNTIME_DIR="/run/user/$uid" \
  ROOTLET_BIN="$stage/dist/rootlet.cjs" ROOTLET_SCRIPTS="$stage/scripts" ROOTLET_REMOTE_HOST="$remote" ROOTLET_FULLFS="$fullfs" \
  ROOTLET_SOAK_RUNS="${ROOTLET_SOAK_RUNS:-}" ROOTLET_SOAK_LIFECYCLES="${ROOTLET_SOAK_LIFECYCLES:-}" \
  node --test --test-concurrency=2 --test-timeout="${ROOTLET_TEST_TIMEOUT:-600000}" "${targets[@]}"
