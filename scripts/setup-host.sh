#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host for rootlet (run as root; idempotent).
#   - installs the container tools rootlet drives (apt-get)
#   - gives each named user (default: the CI users) a home, subordinate id
#     ranges and an XDG_RUNTIME_DIR
#   - opens /dev/net/tun and /dev/fuse to users where the host made them 0600
# Usage: scripts/setup-host.sh [--no-install] [USER[:nosub] ...]
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host.sh: run as root (it installs packages and creates users)" >&2
  exit 1
fi

install=1
if [ "${1:-}" = "--no-install" ]; then install=0; shift; fi
users=("$@")
[ ${#users[@]} -gt 0 ] || users=(rootlet-ci rootlet-ci2 rootlet-ci3 rootlet-nosub:nosub)

packages=(uidmap runc crun conmon catatonit passt slirp4netns fuse-overlayfs
  runsc busybox-static docker-registry attr iproute2 curl util-linux nftables
  apache2-utils openssl skopeo podman gcc libc6-dev zlib1g-dev libssl-dev keyutils
  golang-github-containers-common zstd man-db zsh fish debootstrap
  docker-compose)  # Debian's compose 1.29: the compose figures' comparator (bench/)
# The API tests (test/integration/api-*.test.ts) drive a docker CLI: Debian's docker.io
# gives one where the machine has none (its daemon is never used).
command -v docker >/dev/null || packages+=(docker.io)
if [ "$install" = 1 ]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-host: installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# Ranges are handed out above every existing one so that two users never share ids.
next_free_subid() {
  local file=$1 max=100000
  while IFS=: read -r _ start count; do
    [ -n "${count:-}" ] || continue
    [ $((start + count)) -gt $max ] && max=$((start + count))
  done < "$file"
  echo "$max"
}

ensure_subids() {
  local user=$1 file flag
  for file in /etc/subuid /etc/subgid; do
    touch "$file"
    if ! grep -qE "^($user|$(id -u "$user")):" "$file"; then
      [ "$file" = /etc/subuid ] && flag=--add-subuids || flag=--add-subgids
      local start; start=$(next_free_subid "$file")
      usermod "$flag" "$start-$((start + 65535))" "$user"
    fi
  done
}

for spec in "${users[@]}"; do
  user=${spec%%:*}
  if ! id "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$user"
  fi
  if [ "$spec" = "$user:nosub" ]; then
    # A user with no subordinate ids, for the doctor's failure path.
    sed -i -E "/^($user|$(id -u "$user")):/d" /etc/subuid /etc/subgid
  else
    ensure_subids "$user"
  fi
  uid=$(id -u "$user")
  # What pam_systemd/logind would do on a login.
  install -d -m 0700 -o "$user" -g "$(id -g "$user")" "/run/user/$uid"
done

# Root gets a range of its own too: rootlet run by root still confines
# containers in a user namespace.
ensure_subids root

for dev in /dev/net/tun /dev/fuse; do
  if [ -e "$dev" ] && [ "$(stat -c %a "$dev")" != 666 ]; then chmod 0666 "$dev"; fi
done

echo "setup-host: ready (users: ${users[*]%%:*})"
