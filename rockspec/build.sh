#!/usr/bin/env bash
# LuaRocks build helper for rockspec/dolphindb-scm-1.rockspec and the versioned
# rockspec scripts/release.sh makes from it (build type "command").
# Everything it needs is in the source tree and Debian's packages: no network.
#
#   bash rockspec/build.sh build LUA_INCDIR            configure + compile (CMake)
#   bash rockspec/build.sh install LUADIR LIBDIR BINDIR
#
# build:   CMake (Release, -DDDB_BUILD_TESTS=OFF) in $DDB_ROCK_BUILD_DIR (default:
#          build.luarocks), only the targets a rock ships: the Lua C module
#          dolphindb.core (the same module serves plain LuaJIT and nginx) and the
#          installable ddblua host (no build-time path inside). The rock is for LuaJIT only: its
#          Lua side uses the FFI. The rockspec can only say "lua == 5.1" (LuaJIT is
#          5.1 to LuaRocks); this script is the LuaJIT check: CMake compiles against
#          LuaJIT's headers found through pkg-config (luajit.pc), and the build stops
#          here when they (luajit.h) are missing. LUA_INCDIR is used only to say so
#          when it points at another Lua's headers.
# install: into the rock's own directories, which LuaRocks then deploys into the tree:
#          LIBDIR/dolphindb/core.so, LUADIR/dolphindb/*.lua, BINDIR/ddblua.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${DDB_ROCK_BUILD_DIR:-build.luarocks}
say() { echo "dolphindb rock: $*"; }

case "${1:-}" in
  build)
    incdir=${2:-}
    for tool in cmake pkg-config; do
      command -v "$tool" >/dev/null || { echo "dolphindb rock: '$tool' is required (apt-get install $tool)" >&2; exit 1; }
    done
    for pc in libuv liblz4 luajit; do
      pkg-config --exists "$pc" || {
        echo "dolphindb rock: pkg-config cannot find $pc (Debian: apt-get install libuv1-dev liblz4-dev libluajit2-5.1-dev)" >&2; exit 1; }
    done
    lj_inc=$(pkg-config --cflags-only-I luajit | sed 's/^ *-I//; s/ .*//')
    [ -n "$lj_inc" ] || lj_inc=$(pkg-config --variable=includedir luajit)
    if [ ! -f "$lj_inc/luajit.h" ]; then
      echo "dolphindb rock: needs LuaJIT (it uses the FFI): no luajit.h in '$lj_inc' (Debian: apt-get install libluajit2-5.1-dev)" >&2
      exit 1
    fi
    if [ -n "$incdir" ] && [ ! -f "$incdir/luajit.h" ]; then
      say "note: LUA_INCDIR=$incdir is not LuaJIT's; building against LuaJIT's headers in $lj_inc"
    fi
    say "1/2 configure (cmake, Release, $build_dir)"
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DDDB_BUILD_TESTS=OFF >/dev/null
    targets=(dolphindb_core ddblua_installed)
    say "2/2 compile ${targets[*]}"
    cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
    ;;
  install)
    luadir=${2:?LUADIR missing} libdir=${3:?LIBDIR missing} bindir=${4:?BINDIR missing}
    install -d "$luadir/dolphindb" "$libdir/dolphindb" "$bindir"
    install -m 644 lua/dolphindb/*.lua "$luadir/dolphindb/"
    install -m 755 "$build_dir/lua/dolphindb/core.so" "$libdir/dolphindb/core.so"
    install -m 755 "$build_dir/installed/ddblua" "$bindir/ddblua"
    say "installed dolphindb.core, dolphindb/*.lua and ddblua"
    ;;
  *)
    echo "usage: bash rockspec/build.sh build LUA_INCDIR | install LUADIR LIBDIR BINDIR" >&2
    exit 2
    ;;
esac
