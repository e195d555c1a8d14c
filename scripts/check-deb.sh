#!/bin/sh
# `npm run deb:check`: Debian's checks on the package `npm run deb` built.
#  1. reproducible: building it again gives the same bytes.
#  2. lintian, the host's and trixie's own: no error and no warning.
#  3. install -> reinstall -> remove -> install again -> purge in a throwaway Debian 13 (trixie)
#     root made with debootstrap (systemd is not PID 1 there, as in a container or a chroot): apt-get
#     install ./the.deb pulls the distribution's nodejs; the user, the files and the unit enabled
#     for its device are there after install; lms runs and loads its native addons; after remove the
#     files are gone and the user stays; after purge nothing the package made is left but the
#     system accounts, which Debian keeps. Then once more with systemd installed in the root, so the
#     sysusers path of the postinst runs too.
#  4. upgrade: the previous version (this package relabelled one version down) installed, then
#     this one over it, which must restart nothing it cannot and keep the unit enabled.
#  5. under systemd as PID 1 (of a PID namespace of its own, booted from a trixie root): install
#     enables the unit for its device and starts nothing and leaves no job waiting where there is
#     no ME; the README's recipe for the simulated ME as a service starts it, lms status answers,
#     reload and stop work; purge takes the unit away.
# Needs root and Debian's mirror (DEBIAN_MIRROR, default deb.debian.org). Nothing runs on the host
# itself: the maintainer scripts run inside the root, which has no /proc of its own mounted, so
# they cannot reach the host's kernel settings.
set -eu
cd "$(dirname "$0")/.."
deb=$(ls dist/lms-rx_*_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "deb:check: no dist/lms-rx_*.deb; run npm run deb first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "deb:check: needs root (debootstrap, chroot)" >&2; exit 1; }
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

need=""
command -v lintian >/dev/null 2>&1 || need="$need lintian"
command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
if [ -n "$need" ]; then
  echo "deb:check: installing$need" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

echo "== reproducible build"
before=$(sha256sum "$deb" | cut -d' ' -f1)
node scripts/build-deb.mjs >/dev/null
after=$(sha256sum "$deb" | cut -d' ' -f1)
[ "$before" = "$after" ] || { echo "deb:check: a second build differs ($before, then $after)" >&2; exit 1; }
echo "the same bytes twice: $after"

echo "== lintian $(lintian --version | cut -d' ' -f2)"
# lintian says so when run as root; the check itself is the same.
tags=$(lintian --fail-on none "$deb" 2>&1 | grep -v '^running with root privileges' || true)
if echo "$tags" | grep -q '^[EW]: '; then
  echo "$tags"
  echo "deb:check: lintian reports errors or warnings" >&2
  exit 1
fi
echo "lintian: no error, no warning"

work=$(mktemp -d /var/tmp/lms-deb-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
base="$work/base.tar"
echo "== debootstrap trixie (minbase) from $mirror"
debootstrap --variant=minbase trixie "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
tar -C "$work/root" -cf "$base" .

fail() {
  echo "deb:check: $*" >&2
  exit 1
}
# What a root holds, apart from what apt and dpkg keep of their own doings and the backups the
# shadow tools make of /etc/passwd and friends (their contents are compared through getent).
inventory() {
  chroot "$1" sh -c 'find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /var/cache -o -path /var/log -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /root/the.deb \) -prune -o -print | grep -v "^/etc/\(passwd\|group\|shadow\|gshadow\|subuid\|subgid\)-$" | sort; getent passwd; getent group'
}

cycle() { # $1: a label; $2: packages to add to the root before the package is installed
  root="$work/root-$1"
  mkdir -p "$root"
  tar -C "$root" -xf "$base"
  cp "$deb" "$root/root/the.deb"
  inroot() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  echo "== $1: dependencies"
  # The package's own Depends, satisfied first, so that purge can be compared with this state.
  inroot apt-get update -qq
  inroot apt-get satisfy -y -qq --no-install-recommends "$(dpkg-deb -f "$deb" Depends)" $2 >"$work/$1-deps.log" 2>&1 || { tail -20 "$work/$1-deps.log"; exit 1; }
  inventory "$root" >"$work/$1-before"

  echo "== $1: apt-get install ./the.deb"
  inroot apt-get install -y -qq --no-install-recommends /root/the.deb >"$work/$1-install.log" 2>&1 || { cat "$work/$1-install.log"; exit 1; }
  inroot getent passwd lms >/dev/null || fail "$1: no user lms after install"
  inroot test -L /etc/systemd/system/dev-mei0.device.wants/lms.service || fail "$1: lms.service not enabled for its device"
  inroot test ! -e /etc/systemd/system/multi-user.target.wants/lms.service || fail "$1: lms.service wanted at boot: a machine without an ME would wait for it"
  inroot lms --help >/dev/null || fail "$1: lms --help failed"
  # The device path loads the FFI and epoll addons: a device that is not there must be reported as such.
  set +e
  out=$(inroot lms run --device /dev/nonexistent-mei 2>&1)
  code=$?
  set -e
  [ "$code" = 3 ] || fail "$1: lms run on a missing device exited $code, not 3: $out"
  echo "$out" | grep -q 'nonexistent-mei' || fail "$1: lms run did not name the missing device: $out"
  # And the addons load in the distribution's node (epoll's is built against V8's API, not N-API).
  inroot node -e 'for (const m of ["epoll", "@2060.io/ffi-napi", "@2060.io/ref-napi"]) require("/usr/lib/lms-rx/node_modules/" + m)' || fail "$1: a native addon does not load in the distribution's node"
  inroot man -w lms >/dev/null 2>&1 || inroot test -f /usr/share/man/man8/lms.8.gz || fail "$1: no man page"

  echo "== $1: apt-get install --reinstall"
  inroot apt-get install -y -qq --no-install-recommends --reinstall /root/the.deb >"$work/$1-reinstall.log" 2>&1 || { cat "$work/$1-reinstall.log"; exit 1; }
  inroot test -L /etc/systemd/system/dev-mei0.device.wants/lms.service || fail "$1: reinstall disabled the unit"

  echo "== $1: dpkg -r, then install again"
  inroot dpkg -r lms-rx >"$work/$1-remove.log" 2>&1 || { cat "$work/$1-remove.log"; exit 1; }
  inroot test ! -e /usr/bin/lms || fail "$1: /usr/bin/lms left after remove"
  inroot getent passwd lms >/dev/null || fail "$1: remove took the user (only purge should)"
  inroot test ! -L /etc/systemd/system/lms.service || fail "$1: remove masked the unit"
  inroot apt-get install -y -qq --no-install-recommends /root/the.deb >"$work/$1-again.log" 2>&1 || { cat "$work/$1-again.log"; exit 1; }
  inroot test -x /usr/bin/lms || fail "$1: install after remove put no /usr/bin/lms"

  echo "== $1: dpkg -P"
  # A member of group lms-status who is not the package's: purge must not take the group from them.
  inroot usermod -aG lms-status nobody
  inroot dpkg -P lms-rx >"$work/$1-purge.log" 2>&1 || { cat "$work/$1-purge.log"; exit 1; }
  for account in "passwd lms" "group lms" "group lms-status"; do
    inroot getent $account >/dev/null || fail "$1: purge removed $account (Debian keeps system accounts)"
  done
  inroot gpasswd -d nobody lms-status >/dev/null
  # What is left is the accounts alone.
  inventory "$root" | grep -v '^lms:\|^lms-status:' >"$work/$1-after"
  if ! diff -u "$work/$1-before" "$work/$1-after" >"$work/$1-left"; then
    head -80 "$work/$1-left"
    fail "$1: purge left the above behind"
  fi
  echo "$1: installed, ran, reinstalled, removed, installed again and purged; only the accounts stay"
}

# The previous version, as far as dpkg can tell: this package relabelled one version down.
previous() {
  rm -rf "$work/prev" && dpkg-deb -R "$deb" "$work/prev"
  sed -i "s/^Version: .*/&~previous/" "$work/prev/DEBIAN/control"
  dpkg-deb --root-owner-group -Zxz --build "$work/prev" "$work/previous.deb" >/dev/null
}

upgrade() {
  root="$work/root-upgrade"
  mkdir -p "$root"
  tar -C "$root" -xf "$base"
  previous
  cp "$work/previous.deb" "$root/root/previous.deb"
  cp "$deb" "$root/root/the.deb"
  inroot() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  echo "== upgrade: the previous version, then this one"
  inroot apt-get update -qq
  inroot apt-get install -y -qq --no-install-recommends /root/previous.deb >"$work/upgrade-prev.log" 2>&1 || { cat "$work/upgrade-prev.log"; exit 1; }
  inroot apt-get install -y -qq --no-install-recommends /root/the.deb >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; exit 1; }
  [ "$(inroot dpkg-query -W -f '${Version}' lms-rx)" = "$(dpkg-deb -f "$deb" Version)" ] || fail "upgrade: the new version is not installed"
  inroot test -L /etc/systemd/system/dev-mei0.device.wants/lms.service || fail "upgrade: the unit is no longer enabled"
  inroot lms --help >/dev/null || fail "upgrade: lms --help failed"
  echo "upgrade: from $(dpkg-deb -f "$work/previous.deb" Version) to $(dpkg-deb -f "$deb" Version)"
}

# A root of its own, named $1, from the base, with the package in /root and packages $2... added.
fresh_root() {
  root="$work/root-$1"
  name=$1
  shift
  mkdir -p "$root"
  tar -C "$root" -xf "$base"
  cp "$deb" "$root/root/the.deb"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$work/$name-deps.log" 2>&1 || { tail -20 "$work/$name-deps.log"; exit 1; }
}

# lintian as the target release ships it (the host's may be older or newer).
target_lintian() {
  echo "== lintian from trixie"
  fresh_root lintian lintian
  tags=$(chroot "$root" lintian --fail-on none /root/the.deb 2>&1 | grep -v '^running with root privileges' || true)
  if echo "$tags" | grep -q '^[EW]: '; then
    echo "$tags"
    fail "trixie's lintian $(chroot "$root" lintian --version | cut -d' ' -f2) reports errors or warnings"
  fi
  echo "trixie's lintian $(chroot "$root" lintian --version | cut -d' ' -f2): no error, no warning"
}

# systemd as PID 1 of a PID namespace of its own, on a root of its own (cgroup v2 mounted for it).
booted() {
  echo "== booted: systemd as PID 1"
  fresh_root booted systemd systemd-sysv dbus
  unshare --pid --fork --mount --uts --ipc --propagation private sh -c "
    mount --bind '$root' '$root'
    mount -t proc proc '$root/proc'
    mount -t sysfs sysfs '$root/sys'
    mount -t tmpfs tmpfs '$root/sys/fs/cgroup' 2>/dev/null || true
    mount -t cgroup2 cgroup2 '$root/sys/fs/cgroup'
    mount -t tmpfs tmpfs '$root/run'
    mount -t tmpfs tmpfs '$root/tmp'
    mount --rbind /dev '$root/dev'
    cd '$root' && exec chroot . /lib/systemd/systemd --system --unit=multi-user.target
  " >"$work/booted-systemd.log" 2>&1 &
  pid=""
  for _ in $(seq 1 100); do
    pid=$(pgrep -f '^/lib/systemd/systemd --system --unit=multi-user.target' | head -n 1 || true)
    [ -n "$pid" ] && nsenter -t "$pid" -a -r -w systemctl is-system-running --wait >/dev/null 2>&1 && break
    [ -n "$pid" ] && nsenter -t "$pid" -a -r -w systemctl is-system-running 2>/dev/null | grep -q degraded && break
    sleep 0.2
  done
  [ -n "$pid" ] || fail "booted: systemd did not come up as PID 1 (a machine without PID namespaces or cgroup v2?)"
  insys() { nsenter -t "$pid" -a -r -w env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  stop_booted() { kill -KILL "$pid" 2>/dev/null || true; }
  trap 'stop_booted; rm -rf "$work"' EXIT

  insys apt-get install -y -qq --no-install-recommends /root/the.deb >"$work/booted-install.log" 2>&1 || { cat "$work/booted-install.log"; exit 1; }
  [ "$(insys systemctl is-enabled lms)" = enabled ] || fail "booted: lms.service is not enabled"
  if [ ! -e /dev/mei0 ]; then
    [ "$(insys systemctl is-active lms || true)" = inactive ] || fail "booted: lms started without its device"
    insys systemctl list-jobs --no-legend | grep -q . && fail "booted: a job waits: $(insys systemctl list-jobs --no-legend)"
  fi

  # The README's recipe for the simulated ME as a service, word for word.
  insys sh -c "$(sed -n '/^sed -e .\/\^BindsTo=/,/reenable lms && sudo systemctl restart lms$/p' README.md | sed 's/sudo //g')" >"$work/booted-simulate.log" 2>&1 || { cat "$work/booted-simulate.log"; fail "booted: the README's recipe for the simulated ME failed"; }
  [ "$(insys systemctl is-active lms)" = active ] || {
    cat "$work/booted-simulate.log"
    insys systemctl status lms --no-pager 2>&1 | tail -20
    fail "booted: the simulated service is not active"
  }
  insys lms status 2>/dev/null | grep -q '^session: *ready$' || fail "booted: lms status does not show a ready session"
  insys systemctl reload lms || { insys journalctl -u lms --no-pager | tail -10; fail "booted: reload failed"; }
  insys systemctl stop lms || fail "booted: stop failed"
  insys journalctl -u lms --no-pager | grep -q 'lms stopped' || fail "booted: lms did not stop in order"

  insys rm -f /etc/systemd/system/lms.service
  insys systemctl daemon-reload
  insys apt-get purge -y -qq lms-rx >"$work/booted-purge.log" 2>&1 || { cat "$work/booted-purge.log"; exit 1; }
  insys systemctl list-unit-files --no-legend lms.service 2>/dev/null | grep -q lms && fail "booted: lms.service still known after purge"
  stop_booted
  echo "booted: enabled for its device, started nothing without it; the simulated service started, answered, reloaded and stopped; purged"
}

# LMS_DEB_CHECK_ONLY=booted (or cycle, upgrade, lintian) runs one part, when working on it.
case "${LMS_DEB_CHECK_ONLY:-all}" in
  all) target_lintian; cycle minimal ""; cycle with-systemd "systemd"; upgrade; booted ;;
  lintian) target_lintian ;;
  cycle) cycle minimal ""; cycle with-systemd "systemd" ;;
  upgrade) upgrade ;;
  booted) booted ;;
  *) fail "LMS_DEB_CHECK_ONLY: all, lintian, cycle, upgrade or booted, not ${LMS_DEB_CHECK_ONLY}" ;;
esac
echo "deb:check: passed"
