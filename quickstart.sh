#!/usr/bin/env bash
# rootlet quick start. As root: prepares the host (packages, a demo user with
# subordinate ids), builds and installs rootlet, then runs a container as
# the unprivileged demo user. As a user on a prepared host: builds and runs
# a container as you. No internet needed: the image is made from busybox-static.
set -euo pipefail
cd "$(dirname "$0")"
demo=${ROOTLET_DEMO_USER:-rootlet-demo}

build() {
  # better-sqlite3 is compiled by node-gyp, which otherwise downloads Node's headers (and fails
  # offline or behind a proxy): the nodejs package ships them in /usr/include/node.
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi
  if [ ! -d node_modules ] && [ -z "${npm_config_nodedir:-}" ] && [ ! -d "$HOME/.cache/node-gyp" ]; then
    echo "quickstart: Node's C headers are not in /usr/include/node; node-gyp will try to download them" >&2
    echo "quickstart: (offline: install them, e.g. Debian's libnode-dev, or set npm_config_nodedir)" >&2
  fi
  # npm install, not npm ci: node-unix-socket names optional platform packages that were never
  # published, which npm ci's lock check refuses; install follows the lock file all the same.
  if [ ! -d node_modules ]; then echo "==> npm install"; npm install --no-audit --no-fund --loglevel=error; fi
  echo "==> building"
  npm run --silent build
}

if [ "$(id -u)" -eq 0 ]; then
  echo "==> preparing the host"
  bash scripts/setup-host.sh "$demo"
  build
  bash scripts/install.sh /usr/local
  image=/var/tmp/rootlet-busybox.tar
  bash scripts/make-busybox-rootfs.sh "$image" >/dev/null
  chmod 0644 "$image"
  uid=$(id -u "$demo")
  as_demo() { runuser -u "$demo" -- env -i HOME="$(getent passwd "$demo" | cut -d: -f6)" USER="$demo" \
      PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/$uid" "$@"; }
  echo "==> as $demo: rootlet import $image busybox"
  as_demo rootlet import "$image" busybox
  echo "==> as $demo: rootlet run --rm busybox sh -c 'echo hello from a rootless container; id'"
  as_demo rootlet run --rm busybox sh -c 'echo hello from a rootless container; id; cat /proc/self/uid_map'
  echo "==> done. Try: su - $demo, then: rootlet run --rm -it busybox sh"
else
  build
  image=$(mktemp --suffix=.tar)
  bash scripts/make-busybox-rootfs.sh "$image" >/dev/null
  node dist/rootlet.cjs system check || { echo "fix the FAILED items above (as root, ./quickstart.sh prepares this host: su - or sudo -i first)"; exit 1; }
  node dist/rootlet.cjs import "$image" busybox
  rm -f "$image"
  node dist/rootlet.cjs run --rm busybox sh -c 'echo hello from a rootless container; id; cat /proc/self/uid_map'
fi
