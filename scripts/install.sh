#!/usr/bin/env bash
# Installs the built bundle (dist/) as PREFIX/lib/rootlet with a PREFIX/bin/rootlet link,
# its manual pages (PREFIX/share/man) and bash, zsh and fish completions (PREFIX/share).
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
# Manual pages and completions (made by the build from the command definitions), where man and each shell look.
share=$prefix/share
mkdir -p "$share/man/man1" "$share/bash-completion/completions" "$share/zsh/site-functions" "$share/fish/vendor_completions.d"
rm -f "$share"/man/man1/rootlet.1 "$share"/man/man1/rootlet-*.1
install -m 0644 dist/man/man1/*.1 "$share/man/man1/"
install -m 0644 dist/completion/rootlet.bash "$share/bash-completion/completions/rootlet"
install -m 0644 dist/completion/_rootlet "$share/zsh/site-functions/_rootlet"
install -m 0644 dist/completion/rootlet.fish "$share/fish/vendor_completions.d/rootlet.fish"
echo "installed rootlet in $prefix/bin/rootlet"
