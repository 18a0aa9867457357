#!/usr/bin/env bash
# Builds scute_VERSION_ARCH.deb from a built binary, with the files dist/install.sh lays out
# (the same ones the RPM carries).
#   dist/deb/build.sh BINARY OUTDIR
set -euo pipefail
binary=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../../Cargo.toml" | head -1)
arch=$(dpkg --print-architecture)

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
"$here/../install.sh" "$binary" "$root"
install -D -m 0644 "$here/../../LICENSE" "$root/usr/share/doc/scute/copyright"
install -d -m 0755 "$root/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" "$here/control.in" > "$root/DEBIAN/control"
echo /etc/scute/scute.toml > "$root/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/prerm" "$root/DEBIAN/"
mkdir -p "$out"
dpkg-deb --root-owner-group --build "$root" "$out/scute_${version}_${arch}.deb"
