#!/usr/bin/env bash
# Installs Scute into a root the packages are made from: the binary, the unit, the packaged
# configuration, the system user, man pages and shell completions (both generated from the
# installed binary's command-line definition). Used by dist/rpm/scute.spec (%install) and
# dist/deb/build.sh, so both packages carry the same files.
#   dist/install.sh BINARY DESTDIR
set -euo pipefail
binary=$1
dest=$2
here=$(cd "$(dirname "$0")" && pwd)

install -D -m 0755 "$binary" "$dest/usr/bin/scute"
install -D -m 0644 "$here/systemd/scute.service" "$dest/usr/lib/systemd/system/scute.service"
install -D -m 0644 "$here/sysusers.d/scute.conf" "$dest/usr/lib/sysusers.d/scute.conf"
install -D -m 0640 "$here/scute.toml" "$dest/etc/scute/scute.toml"

man=$(mktemp -d)
trap 'rm -rf "$man"' EXIT
"$dest/usr/bin/scute" man --out "$man"
install -d "$dest/usr/share/man/man1"
for page in "$man"/*.1; do
  gzip -9 -n -c "$page" > "$dest/usr/share/man/man1/$(basename "$page").gz"
  chmod 0644 "$dest/usr/share/man/man1/$(basename "$page").gz"
done

install -d "$dest/usr/share/bash-completion/completions" \
  "$dest/usr/share/zsh/site-functions" "$dest/usr/share/fish/vendor_completions.d"
"$dest/usr/bin/scute" completions bash > "$dest/usr/share/bash-completion/completions/scute"
"$dest/usr/bin/scute" completions zsh > "$dest/usr/share/zsh/site-functions/_scute"
"$dest/usr/bin/scute" completions fish > "$dest/usr/share/fish/vendor_completions.d/scute.fish"
chmod 0644 "$dest/usr/share/bash-completion/completions/scute" \
  "$dest/usr/share/zsh/site-functions/_scute" "$dest/usr/share/fish/vendor_completions.d/scute.fish"
