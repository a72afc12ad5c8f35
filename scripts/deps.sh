#!/bin/sh
# Install (or name) the Debian packages luv-promise needs to build and test.
# Sourced by scripts/demo.sh and scripts/test.sh.
PROMISE_PKGS="lua5.4 liblua5.4-dev lua-luv lua-luv-dev libuv1-dev lua-busted luarocks lua-check gcc make pkg-config valgrind cppcheck redis-server lua-cjson"

missing=""
for p in $PROMISE_PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null \
      || { echo "apt-get install failed for:$missing" >&2; exit 1; }
  else
    echo "missing Debian packages:$missing" >&2
    echo "install them with: sudo apt-get install$missing" >&2
    exit 1
  fi
fi
