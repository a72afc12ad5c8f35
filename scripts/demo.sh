#!/bin/sh
# Build luv-promise and run the tour of the library on the real event loop.
set -e
cd "$(dirname "$0")/.."
. scripts/deps.sh
make -s
LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/tour.lua
