#!/usr/bin/env bash
# Packages in CI (called by .ci/run): builds the RPM with rpmbuild from a source tarball with
# vendored crates, offline, as a distribution's build system would; builds the .deb from the
# same binary and files; installs each into a scratch root and runs the installed scute
# (--version, config check of the packaged configuration); checks the unit with
# systemd-analyze and the spec and RPM with rpmlint; and compares the two packages' files.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$2"; }; }
need rpmbuild rpm
need rpmlint rpmlint
need systemd-analyze systemd
need man man-db

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "packages: source tarball scute-$version.tar.gz (vendored crates)"
src="$work/scute-$version"
git archive --format=tar --prefix="scute-$version/" HEAD | tar -x -C "$work"
mkdir -p "$src/.cargo"
(cd "$src" && cargo vendor --locked --quiet vendor > .cargo/config.toml)
git rev-parse --short=12 HEAD > "$src/.git-revision"
mkdir -p "$work/rpmbuild/SOURCES"
tar -czf "$work/rpmbuild/SOURCES/scute-$version.tar.gz" -C "$work" "scute-$version"
rm -rf "$src"

echo "packages: rpmbuild"
# --nodeps: Debian's rpm database knows none of the BuildRequires (cargo and rustc are rustup's).
rpmbuild --quiet --define "_topdir $work/rpmbuild" --nodeps -bb dist/rpm/scute.spec
rpm_file=$(ls "$work"/rpmbuild/RPMS/*/scute-"$version"-*.rpm)

echo "packages: rpmlint"
# What is left on purpose is filtered, with its reason, in scute.rpmlintrc; any other error
# fails (rpmlint exits non-zero on errors).
rpmlint -r dist/rpm/scute.rpmlintrc dist/rpm/scute.spec "$rpm_file" | tee "$work/rpmlint.txt" || true
if grep -q ': E: ' "$work/rpmlint.txt"; then
  echo "packages: rpmlint reports errors" >&2
  exit 1
fi

check_root() {
  local root=$1 what=$2
  "$root/usr/bin/scute" --version | tee "$work/version.txt"
  grep -q "git $(git rev-parse --short=12 HEAD)" "$work/version.txt" ||
    { echo "packages: $what: --version does not name this revision" >&2; exit 1; }
  "$root/usr/bin/scute" config check --config "$root/etc/scute/scute.toml"
  test -s "$root/usr/share/man/man1/scute-serve.1.gz"
  test "$(stat -c %a "$root/etc/scute/scute.toml")" = 640
}

echo "packages: rpm --root (scratch root)"
rpm_root="$work/rpm-root"
rpm --root "$rpm_root" --initdb
# --noscripts: the scratch root has no shell or useradd to run %pre with.
rpm --root "$rpm_root" -i --nodeps --noscripts "$rpm_file"
check_root "$rpm_root" rpm
rpm -qp --configfiles "$rpm_file" | grep -qx /etc/scute/scute.toml

echo "packages: systemd-analyze verify"
# The installed unit, pointed at the installed binary (ExecStart must exist) and man pages
# (Documentation= must resolve). systemd-analyze only warns about unknown keys and the like,
# so anything it says fails the check.
sed "s|/usr/bin/scute|$rpm_root/usr/bin/scute|" "$rpm_root/usr/lib/systemd/system/scute.service" \
  > "$work/scute.service"
said=$(MANPATH="$rpm_root/usr/share/man" SYSTEMD_LOG_LEVEL=notice \
  systemd-analyze verify "$work/scute.service" 2>&1) || { echo "$said" >&2; exit 1; }
if [ -n "$said" ]; then
  echo "packages: systemd-analyze: $said" >&2
  exit 1
fi

echo "packages: .deb"
dist/deb/build.sh "$rpm_root/usr/bin/scute" "$work/deb"
deb_file=$(ls "$work"/deb/scute_"$version"_*.deb)
deb_root="$work/deb-root"
dpkg-deb -x "$deb_file" "$deb_root"
check_root "$deb_root" deb
dpkg-deb -f "$deb_file" Package Version

# Both packages carry the same files (the licence and docs are each format's own).
list() { (cd "$1" && find usr etc -type f -o -type l | grep -v -e '^usr/share/doc/' -e '^usr/share/licenses/' | sort); }
diff <(list "$rpm_root") <(list "$deb_root")
echo "packages: ok ($(basename "$rpm_file"), $(basename "$deb_file"))"
