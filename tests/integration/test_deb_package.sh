#!/usr/bin/env bash
# Issue 16 §1: the Debian package. Builds it as `make deb` does
# (scripts/build-deb: dpkg-buildpackage -us -uc -b), checks its file list
# against the tree (binary, every template and schema, the unit, the
# conffile, a man page per subcommand, the docs, nothing else), runs lintian
# (errors and warnings fail), then installs it with dpkg -i into a throw-away
# root and runs it there (tests/integration/deb_install_check.sh): the
# maintainer scripts, check-config of the installed example as the relay's
# user, a login through the installed relay under the unit's sandbox
# settings, reload, purge. Needs root (mount and PID namespaces, chroot).
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: needs root for unshare, mount and chroot (make check runs as root)"
    exit 77
fi
SRC=$ZR_SOURCE_DIR

echo "# make deb (scripts/build-deb), without the unit tests: make check runs them in its own build"
started=$(date +%s)
set +e
DEB_BUILD_OPTIONS="nocheck parallel=2" bash "$SRC/scripts/build-deb" "$ZR_TMP/dist" >"$ZR_TMP/build-deb.log" 2>&1
rc=$?
set -e
echo "# package build took $(( $(date +%s) - started )) s"
zr_check "build-deb exit status" "$rc" 0
[ "$rc" -eq 0 ] || { tail -n 40 "$ZR_TMP/build-deb.log"; zr_done; exit 1; }
version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
zr_check "debian/changelog's version is the project's (CMakeLists.txt)" "$version" \
    "$(sed -n 's/^project(zorgrelay VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")"
DEB=$ZR_TMP/dist/zorgrelay_${version}_amd64.deb
zr_check "dist/ holds zorgrelay_${version}_amd64.deb" "$(test -s "$DEB" && echo yes)" yes

echo "# the file list"
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' | grep -v '^$' | sort >"$ZR_TMP/files"
has() { grep -qxF "$1" "$ZR_TMP/files" && echo yes || echo "missing"; }
zr_check "/usr/bin/zorgrelay" "$(has /usr/bin/zorgrelay)" yes
zr_check "the unit" "$(has /lib/systemd/system/zorgrelay.service)" yes
zr_check "the example configuration" "$(has /etc/zorgrelay/zorgrelay.yaml)" yes
zr_check "the test PKI maker the postinst runs" "$(has /usr/share/zorgrelay/make-test-pki)" yes
missing=0
# the pages and their catalogs (templates/lang/<code>.txt, issue 18 §5)
while IFS= read -r f; do
    [ "$(has "/usr/share/zorgrelay/templates/$f")" = yes ] || { echo "missing template $f"; missing=$((missing+1)); }
done < <(cd "$SRC/templates" && find . -type f | sed 's|^\./||' | sort)
zr_check "every template and catalog under /usr/share/zorgrelay/templates" "$missing" 0
zr_check "the catalogs are packaged" "$(has /usr/share/zorgrelay/templates/lang/nl.txt)$(has /usr/share/zorgrelay/templates/lang/en.txt)" yesyes
missing=0
for f in "$SRC"/metadata/schemas/*.xsd; do
    [ "$(has "/usr/share/zorgrelay/schemas/${f##*/}")" = yes ] || { echo "missing schema ${f##*/}"; missing=$((missing+1)); }
done
zr_check "every schema under /usr/share/zorgrelay/schemas" "$missing" 0
missing=0
for f in "$SRC"/docs/*.md "$SRC"/README.md; do
    d=/usr/share/doc/zorgrelay/${f##*/}
    [ "$(has "$d")" = yes ] || [ "$(has "$d.gz")" = yes ] || { echo "missing doc ${f##*/}"; missing=$((missing+1)); }
done
zr_check "every docs/*.md and the README under /usr/share/doc/zorgrelay" "$missing" 0
# The subcommands as the packaged binary lists them: each has its page.
mkdir "$ZR_TMP/x"
dpkg-deb -x "$DEB" "$ZR_TMP/x"
commands=$("$ZR_TMP/x/usr/bin/zorgrelay" 2>&1 | awk '/^commands:/ {on=1; next} on && NF {print $1}' || true)
zr_check "the binary lists its subcommands" "$(echo "$commands" | grep -c .)" "$(grep -c '^    {"' "$SRC/src/cmd/commands.c")"
missing=0
for c in $commands; do
    [ "$c" = version ] && continue
    [ "$(has "/usr/share/man/man1/zorgrelay-$c.1.gz")" = yes ] || { echo "no man page for $c"; missing=$((missing+1)); }
done
zr_check "a man page per subcommand" "$missing" 0
zr_check "the man page of the binary" "$(has /usr/share/man/man1/zorgrelay.1.gz)" yes
zr_check "nothing outside the package's places" "$(grep -vxE '/|/etc|/etc/zorgrelay(/.*)?|/lib|/lib/systemd|/lib/systemd/system(/zorgrelay\.service)?|/usr|/usr/bin(/zorgrelay)?|/usr/share|/usr/share/(doc|man|man/man1)|/usr/share/(zorgrelay|doc/zorgrelay)(/.*)?|/usr/share/man/man1/zorgrelay[-a-z]*\.1\.gz' "$ZR_TMP/files" | tr '\n' ' ')" ""
zr_check "the man pages render without warnings" \
    "$(for m in "$ZR_TMP"/x/usr/share/man/man1/*.gz; do LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null; done | wc -l)" 0
zr_check "a release build: no test hooks in the binary" "$(grep -c ZR_TEST_ "$ZR_TMP/x/usr/bin/zorgrelay" || true)" 0
zr_check "the data directory is compiled in" "$(grep -c /usr/share/zorgrelay/templates "$ZR_TMP/x/usr/bin/zorgrelay")" 1

echo "# lintian (errors and warnings fail)"
set +e
lintian --fail-on error,warning --display-info "$DEB" >"$ZR_TMP/lintian.log" 2>&1
rc=$?
set -e
grep -v 'running with root privileges' "$ZR_TMP/lintian.log" || true
zr_check "lintian: no error or warning" "$rc" 0

echo "# install into a throw-away root and run it (deb_install_check.sh)"
mkdir "$ZR_TMP/root"
set +e
unshare --mount --net --pid --fork --propagation private \
    bash "$SRC/tests/integration/deb_install_check.sh" "$DEB" "$SRC" "$ZR_TMP/root"
rc=$?
set -e
zr_check "installed, run and purged in the throw-away root" "$rc" 0
zr_check "the host got nothing: no zorgrelay user" "$(getent passwd zorgrelay >/dev/null && echo present || echo none)" none
zr_check "the host got nothing: no /usr/share/zorgrelay" "$(test -e /usr/share/zorgrelay && echo present || echo none)" none
echo "# whole test took $(( $(date +%s) - started )) s"
zr_done
