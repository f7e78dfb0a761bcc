#!/usr/bin/env bash
# deb_test.sh BUILD_DIR VERSION: `cpack -G DEB` makes pubsub_VERSION_ARCH.deb; its metadata
# (Depends computed from the shared libraries, Recommends postgresql-15, the config as a
# conffile), its file list and its maintainer scripts are checked; it is extracted into a
# throwaway root and the installed pubsubd --version runs. The postinst runs against stub
# commands that record what it asks for: the `pubsub` user created, the unit enabled, nothing
# started.
build=$1 version=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
for c in cpack dpkg-deb dpkg-shlibdeps; do
  command -v $c >/dev/null || { echo "SKIPPED: $c not found, the .deb was not built"; exit 0; }
done

arch=$(dpkg --print-architecture)
(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) \
  || { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
deb=$tmp/out/pubsub_${version}_${arch}.deb
[ -f "$deb" ] || fail "no $(basename "$deb"): $(ls "$tmp/out")"
ok "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = pubsub ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ "$(field Recommends)" = postgresql-15 ] || fail "Recommends: $(field Recommends)"
deps=$(field Depends)
# Computed by dpkg-shlibdeps: versioned entries for the libraries the binaries link.
for lib in 'libc6 (>= ' 'libpq5 (>= ' 'libstdc++6 (>= ' libsystemd0; do
  [[ $deps == *"$lib"* ]] || fail "Depends lacks $lib: $deps"
done
[[ $deps != *postgresql-15* ]] || fail "postgresql-15 must be a Recommends, not a Depends"
ok "Depends: $deps"

dpkg-deb -e "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/pubsub/pubsubd.toml ] \
  || fail "conffiles: $(cat "$tmp/control/conffiles")"
for s in postinst prerm postrm; do [ -x "$tmp/control/$s" ] || fail "no executable $s"; done
files=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep -v '/$' | sort | tr '\n' ' ')
want='./etc/pubsub/pubsubd.toml ./usr/bin/pubsubctl ./usr/bin/pubsubd '
want+='./usr/lib/systemd/system/pubsubd.service ./usr/share/pubsub/roles.sql '
want+='./usr/share/pubsub/pubsub-alerts.yml '
if grep -q '^PUBSUB_HELP2MAN:FILEPATH=/' "$build/CMakeCache.txt"; then
  want+='./usr/share/man/man1/pubsubctl.1 ./usr/share/man/man1/pubsubd.1 '
fi
want=$(printf '%s\n' $want | sort | tr '\n' ' ')
[ "$files" = "$want" ] || fail "files: $files (want $want)"
ok "conffiles, maintainer scripts, $(echo "$files" | wc -w) files"

dpkg-deb -x "$deb" "$tmp/root"
v=$("$tmp/root/usr/bin/pubsubd" --version) || fail "extracted pubsubd --version"
[[ $v == "pubsubd $version (revision "* ]] || fail "pubsubd --version: $v"
grep -qx 'ExecStart=/usr/bin/pubsubd --config /etc/pubsub/pubsubd.toml' \
  "$tmp/root/usr/lib/systemd/system/pubsubd.service" || fail "unit ExecStart in the package"
ok "extracted: $v"

# postinst on a first install, with stubs: no user yet.
mkdir "$tmp/stub"
for c in getent adduser useradd deb-systemd-helper systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\n%s\n' "$c" "$tmp/calls" \
    "$([ $c = getent ] && echo 'exit 2' || echo 'exit 1')" >"$tmp/stub/$c"
  chmod +x "$tmp/stub/$c"
done
# deb-systemd-helper was-enabled answers "no"; everything else succeeds.
printf '#!/bin/sh\necho "deb-systemd-helper $*" >>"%s"\n%s\nexit 0\n' "$tmp/calls" \
  '[ "$2" = was-enabled ] && exit 1' >"$tmp/stub/deb-systemd-helper"
sed -i 's/^exit 1$/exit 0/' "$tmp/stub/adduser" "$tmp/stub/systemctl"
PATH="$tmp/stub:$PATH" sh "$tmp/control/postinst" configure '' || fail "postinst failed"
calls=$(cat "$tmp/calls")
grep -q '^adduser --system --group .* pubsub$' <<<"$calls" || fail "no pubsub user: $calls"
grep -q '^deb-systemd-helper enable pubsubd.service$' <<<"$calls" || fail "unit not enabled: $calls"
! grep -q 'start\|restart' <<<"$calls" || fail "postinst started something: $calls"
ok "postinst creates the user, enables the unit, starts nothing"
echo "deb_test: all checks passed"
