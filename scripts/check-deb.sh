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
#     no ME; a device that appears as dev-mei0.device starts it and its going stops it, and under
#     the unit lms can tell whose each connection is; the README's recipe for the simulated ME as a
#     service starts it, lms status answers, reload and stop work; purge takes the unit away.
#  6. the README's Debian 12 path, word for word, on a booted bookworm root with this machine's
#     Node.js: the service it installs starts with its device (a linked install could not).
# Needs root and Debian's mirror (DEBIAN_MIRROR, default deb.debian.org). Nothing runs on the host
# itself but a veth pair named lmsmei0/lmsmei1 while a check runs (the stand-in device; it is
# deleted after): the maintainer scripts run inside the roots, which have no /proc of their own
# mounted outside the booted ones, so they cannot reach the host's kernel settings.
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

# Boots systemd as PID 1 of a PID namespace of its own on $root (cgroup v2 mounted for it), with
# udev: its own udevd hears the kernel's device events. The root's /dev is a tmpfs of its own (a few
# nodes bound in), and udev's coldplug trigger is masked, so that udevd acts on no device of the
# machine's own. Sets $pid; insys runs a command in it.
boot_root() { # $1: a label
  ln -sf /dev/null "$root/etc/systemd/system/systemd-udev-trigger.service"
  unshare --pid --fork --mount --uts --ipc --propagation private sh -c "
    mount --bind '$root' '$root'
    mount -t proc proc '$root/proc'
    mount -t sysfs sysfs '$root/sys'
    mount -t tmpfs tmpfs '$root/sys/fs/cgroup' 2>/dev/null || true
    mount -t cgroup2 cgroup2 '$root/sys/fs/cgroup'
    mount -t tmpfs tmpfs '$root/run'
    mount -t tmpfs tmpfs '$root/tmp'
    mount -t tmpfs -o mode=755,nosuid tmpfs '$root/dev'
    for n in null zero full random urandom tty; do touch '$root/dev/'\$n; mount --bind /dev/\$n '$root/dev/'\$n; done
    mkdir '$root/dev/pts' '$root/dev/shm'
    mount -t devpts -o newinstance,ptmxmode=0666 devpts '$root/dev/pts'
    ln -s pts/ptmx '$root/dev/ptmx'
    cd '$root' && exec chroot . /lib/systemd/systemd --system --unit=multi-user.target
  " >"$work/$1-systemd.log" 2>&1 &
  pid=""
  for _ in $(seq 1 100); do
    pid=$(pgrep -f '^/lib/systemd/systemd --system --unit=multi-user.target' | head -n 1 || true)
    [ -n "$pid" ] && nsenter -t "$pid" -a -r -w systemctl is-system-running --wait >/dev/null 2>&1 && break
    [ -n "$pid" ] && nsenter -t "$pid" -a -r -w systemctl is-system-running 2>/dev/null | grep -q degraded && break
    sleep 0.2
  done
  [ -n "$pid" ] || fail "$1: systemd did not come up as PID 1 (a machine without PID namespaces or cgroup v2?)"
  trap 'stop_booted; rm -rf "$work"' EXIT
  # PID 1 listens to udev only if udevd ran when it started or /dev is devtmpfs (sd-device-monitor):
  # neither holds here, where it booted before udevd on a /dev of its own. On a machine, both do.
  insys systemctl daemon-reexec
}
# PATH as Debian gives root (and sudo its secure_path).
# env -i: the booted root gets none of this shell's environment (under `npm run`, npm_config_cache
# names the host's /root/.npm, which the root's administrator may not write).
insys() { nsenter -t "$pid" -a -r -w env -i HOME=/root DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
stop_booted() {
  ip link del lmsmei0 2>/dev/null || true
  if [ -n "${pid:-}" ]; then
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  pid=""
}
# $1: a label; $2: the state lms.service must reach within 30 s; $3: what failed otherwise.
await_lms() {
  for _ in $(seq 1 150); do
    [ "$(insys systemctl is-active lms || true)" = "$2" ] && return 0
    sleep 0.2
  done
  insys systemctl status lms --no-pager 2>&1 | tail -20
  fail "$1: $3"
}

# The device starts the service, and its going stops it (issue #26, item 1). This machine has no
# ME, so a network device stands in for the MEI device: a udev rule of the check's own makes its
# device unit dev-mei0.device too, which is what the installed rule does for /dev/mei0; a drop-in
# runs the simulated ME in its place. The installed unit, its enabling and its binding are as they are.
device_starts_lms() { # $1: a label; $2: where the installed udev rule is
  # udevadm verify came with systemd 254 (trixie has it; bookworm's 252 does not).
  if insys udevadm verify --help >/dev/null 2>&1; then
    insys udevadm verify "$2" >/dev/null || fail "$1: udevadm verify refuses $2"
  fi
  echo 'SUBSYSTEM=="net", KERNEL=="lmsmei0", TAG+="systemd", ENV{SYSTEMD_ALIAS}+="/dev/mei0"' >"$root/etc/udev/rules.d/00-lms-check-stand-in.rules"
  mkdir -p "$root/etc/systemd/system/lms.service.d"
  printf '[Unit]\nConditionPathExists=\n[Service]\nExecStart=\nExecStart=/usr/bin/env lms run --simulate --control-socket /run/lms/lms.sock --control-group lms-status\n' >"$root/etc/systemd/system/lms.service.d/stand-in.conf"
  insys udevadm control --reload
  insys systemctl daemon-reload
  ip link add lmsmei0 type veth peer name lmsmei1
  await_lms "$1" active "the device appeared and lms.service did not start"
  insys lms status 2>/dev/null | grep -q '^session: *ready$' || fail "$1: lms status does not show a ready session"
  # Whose each connection is (sock_diag, over netlink) must be known under the unit's sandbox too.
  insys node -e 'require("net").connect(16992, "127.0.0.1").on("connect", function () { this.end(); })' 2>/dev/null
  sleep 1
  insys journalctl -u lms --no-pager | grep 'cannot tell which local user' && fail "$1: under its unit, lms cannot tell whose a connection is"
  ip link del lmsmei0
  await_lms "$1" inactive "the device went and lms.service did not stop"
  rm -r "$root/etc/systemd/system/lms.service.d" "$root/etc/udev/rules.d/00-lms-check-stand-in.rules"
  insys udevadm control --reload
  insys systemctl daemon-reload
}

booted() {
  echo "== booted: systemd as PID 1"
  fresh_root booted systemd systemd-sysv dbus udev
  boot_root booted
  insys apt-get install -y -qq --no-install-recommends /root/the.deb >"$work/booted-install.log" 2>&1 || { cat "$work/booted-install.log"; exit 1; }
  [ "$(insys systemctl is-enabled lms)" = enabled ] || fail "booted: lms.service is not enabled"
  [ "$(insys systemctl is-active lms || true)" = inactive ] || fail "booted: lms started without its device"
  insys systemctl list-jobs --no-legend | grep -q . && fail "booted: a job waits: $(insys systemctl list-jobs --no-legend)"
  device_starts_lms booted /usr/lib/udev/rules.d/99-lms-mei.rules

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
  echo "booted: enabled for its device, started nothing without it; started when its device appeared and stopped when it went; the simulated service started, answered, reloaded and stopped; purged"
}

# The README's Debian 12 path, word for word, on a booted bookworm root: Node.js from elsewhere (the
# one this machine runs, laid out as nodejs.org's tarball is), the build tools
# the README names, then its commands from a checkout in an administrator's home, `sudo` dropped
# (they run as root) and the rest as that administrator. The service must then start with its
# device (the unit cannot see the home: a linked install would fail there with status 126).
bookworm() {
  echo "== bookworm: the README's Debian 12 path"
  root="$work/root-bookworm"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/bookworm-debootstrap.log" 2>&1 || { tail -20 "$work/bookworm-debootstrap.log"; exit 1; }
  # This machine's Node.js, as a tarball from nodejs.org would put it in /usr/local: node, npm and
  # Node's headers (which node-gyp needs where nodejs.org is out of reach).
  node=$(readlink -f "$(command -v node)")
  prefix=$(dirname "$(dirname "$node")")
  mkdir -p "$root/usr/local/lib/node_modules" "$root/usr/local/include"
  cp "$node" "$root/usr/local/bin/node"
  cp -a "$prefix/lib/node_modules/npm" "$root/usr/local/lib/node_modules/npm"
  cp -a "$prefix/include/node" "$root/usr/local/include/node"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus udev build-essential python3 ca-certificates >"$work/bookworm-deps.log" 2>&1 || { tail -20 "$work/bookworm-deps.log"; exit 1; }
  [ "$(chroot "$root" node -p 'process.versions.node')" = "$(node -p 'process.versions.node')" ] || fail "bookworm: node did not come over"
  # This machine's way to the npm registry (its CA bundle, and Node's headers where nodejs.org is out of reach).
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/lms-check-ca.crt"
  chroot "$root" useradd -m -s /bin/sh admin
  git ls-files -z -co --exclude-standard | tar --null -T - -cf - | chroot "$root" runuser -u admin -- sh -c 'mkdir ~/lms-rx && tar -C ~/lms-rx -xf -'
  boot_root bookworm
  net="NODE_EXTRA_CA_CERTS=/etc/lms-check-ca.crt npm_config_cafile=/etc/lms-check-ca.crt npm_config_nodedir=/usr/local"
  sed -n '/^npm ci && npm pack/,/^sudo systemctl enable lms && if/p' README.md >"$work/bookworm-steps"
  [ -s "$work/bookworm-steps" ] || fail "bookworm: the README's steps are not where the check looks"
  while IFS= read -r step; do
    case "$step" in
      sudo\ *) who="" ; line=$(printf '%s' "$step" | sed 's/sudo //g') ;;
      *) who="runuser -u admin --" ; line=$step ;;
    esac
    echo "\$ $step" >>"$work/bookworm-run.log"
    insys $who env HOME=$([ -n "$who" ] && echo /home/admin || echo /root) $net sh -c "cd /home/admin/lms-rx && $line" >>"$work/bookworm-run.log" 2>&1 || { tail -30 "$work/bookworm-run.log"; fail "bookworm: the README's step failed: $step"; }
  done <"$work/bookworm-steps"
  [ "$(insys systemctl is-enabled lms)" = enabled ] || fail "bookworm: lms.service is not enabled"
  device_starts_lms bookworm /etc/udev/rules.d/99-lms-mei.rules
  insys test -d /usr/local/lib/node_modules/lms-rx -a ! -L /usr/local/lib/node_modules/lms-rx || fail "bookworm: lms-rx is not a copy in npm's global root"
  stop_booted
  echo "bookworm: the README's steps ran as written; the service started with its device, answered, and stopped when it went"
}

# LMS_DEB_CHECK_ONLY=booted (or cycle, upgrade, lintian, bookworm) runs one part, when working on it.
case "${LMS_DEB_CHECK_ONLY:-all}" in
  all) target_lintian; cycle minimal ""; cycle with-systemd "systemd"; upgrade; booted; bookworm ;;
  lintian) target_lintian ;;
  cycle) cycle minimal ""; cycle with-systemd "systemd" ;;
  upgrade) upgrade ;;
  booted) booted ;;
  bookworm) bookworm ;;
  *) fail "LMS_DEB_CHECK_ONLY: all, lintian, cycle, upgrade, booted or bookworm, not ${LMS_DEB_CHECK_ONLY}" ;;
esac
echo "deb:check: passed"
