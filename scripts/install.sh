#!/usr/bin/env bash
# Installs the built bundle (dist/) as PREFIX/lib/rootlet with a PREFIX/bin/rootlet link.
# Nothing is setuid: rootlet relies on the distribution's newuidmap/newgidmap.
# Usage: scripts/install.sh [PREFIX]   (default /usr/local)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
[ -f dist/rootlet.cjs ] || { echo "install.sh: build first (npm run build)" >&2; exit 1; }
rm -rf "$prefix/lib/rootlet.new"
mkdir -p "$prefix/lib" "$prefix/bin"
cp -a dist "$prefix/lib/rootlet.new"
chmod -R a+rX,go-w "$prefix/lib/rootlet.new"
rm -rf "$prefix/lib/rootlet"
mv "$prefix/lib/rootlet.new" "$prefix/lib/rootlet"
rm -f "$prefix/bin/rootlet"
sed "s|@ENTRY@|$prefix/lib/rootlet/rootlet.cjs|" scripts/rootlet-wrapper.sh > "$prefix/bin/rootlet"
chmod 0755 "$prefix/bin/rootlet"
echo "installed rootlet in $prefix/bin/rootlet"
