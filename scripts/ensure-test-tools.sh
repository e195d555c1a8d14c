#!/bin/sh
# Installs what the test suite drives from outside Node, where it is missing: curl (end-to-end
# clients), systemd-analyze (unit checks), man (the man page's check), dbus-daemon (a private
# system bus for the logind double), strace (which system calls lms makes on its control socket),
# iproute2 (a network namespace for the shared static IP) and, for the emulated /dev/mei0 and
# watchdog, FUSE 3 with its headers and a C compiler. As root it installs them with apt-get, saying so first; otherwise, or with
# LMS_NO_INSTALL=1, it prints the command to run and the tests that need them say why they skip.
set -eu
missing=""
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
pkg-config --exists fuse3 2>/dev/null || missing="$missing libfuse3-dev"
command -v fusermount3 >/dev/null 2>&1 || missing="$missing fuse3"
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
command -v man >/dev/null 2>&1 || missing="$missing man-db"
command -v dbus-daemon >/dev/null 2>&1 || missing="$missing dbus-daemon"
command -v strace >/dev/null 2>&1 || missing="$missing strace"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
[ -z "$missing" ] && exit 0
if [ "${LMS_NO_INSTALL:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: installing system packages with apt-get:$missing (LMS_NO_INSTALL=1 skips this)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq $missing >/dev/null
else
  echo "ensure-test-tools: missing$missing; install them with: sudo apt-get install -y$missing" >&2
  echo "ensure-test-tools: the tests that need them will say so and be skipped" >&2
fi
