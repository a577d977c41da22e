#!/usr/bin/env bash
# Writes a root filesystem tarball made from Debian's busybox-static: the
# image for the quick start and the tests (no internet needed).
# Usage: scripts/make-busybox-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: make-busybox-rootfs.sh OUT.tar}
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox is not installed: apt-get install busybox-static" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || {
  echo "$busybox is not statically linked: apt-get install busybox-static" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,home/app,proc,sys,dev,run,www}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
app:x:1000:
users:x:100:app
nogroup:x:65534:
G
echo 'hello from rootlet' > "$root/www/index.html"
chmod 0755 "$root"
chmod 1777 "$root/tmp" "$root/var/tmp"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$root" -cf "$out" .
echo "wrote $out"
