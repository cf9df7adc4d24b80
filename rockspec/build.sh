#!/usr/bin/env bash
# LuaRocks build helper for rockspec/dolphindb-scm-1.rockspec (build type "command").
# Everything it needs is in the source tree and Debian's packages: no network.
#
#   bash rockspec/build.sh build LUA_INCDIR            configure + compile (CMake)
#   bash rockspec/build.sh install LUADIR LIBDIR BINDIR
#
# build:   CMake (Release) in $DDB_ROCK_BUILD_DIR (default: build.luarocks), only the
#          targets a rock ships: the Lua C module (and its nginx variant
#          dolphindb.ngxcore when the tree has it) and the ddblua host. CMake finds
#          LuaJIT's headers through pkg-config (luajit.pc); LUA_INCDIR is checked so a
#          wrong interpreter setup fails here with a clear message.
# install: into the rock's own directories, which LuaRocks then deploys into the tree:
#          LIBDIR/dolphindb/core.so [ngxcore.so], LUADIR/dolphindb/*.lua, BINDIR/ddblua.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${DDB_ROCK_BUILD_DIR:-build.luarocks}
say() { echo "dolphindb rock: $*"; }

case "${1:-}" in
  build)
    incdir=${2:-}
    if [ -z "$incdir" ] || [ ! -f "$incdir/lua.h" ]; then
      echo "dolphindb rock: LUA_INCDIR='$incdir' has no lua.h; pass LUA_INCDIR=/usr/include/luajit-2.1" >&2
      exit 1
    fi
    for tool in cmake pkg-config; do
      command -v "$tool" >/dev/null || { echo "dolphindb rock: '$tool' is required (apt-get install $tool)" >&2; exit 1; }
    done
    for pc in libuv liblz4 luajit; do
      pkg-config --exists "$pc" || {
        echo "dolphindb rock: pkg-config cannot find $pc (Debian: apt-get install libuv1-dev liblz4-dev libluajit2-5.1-dev)" >&2; exit 1; }
    done
    say "1/2 configure (cmake, Release, $build_dir)"
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
    targets=(dolphindb_core ddblua)
    # the nginx variant (dolphindb.ngxcore, used by dolphindb.ngx) when this tree has it
    if cmake --build "$build_dir" --target help | grep 'dolphindb_ngxcore' >/dev/null; then
      targets+=(dolphindb_ngxcore)
    fi
    say "2/2 compile ${targets[*]}"
    cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
    ;;
  install)
    luadir=${2:?LUADIR missing} libdir=${3:?LIBDIR missing} bindir=${4:?BINDIR missing}
    install -d "$luadir/dolphindb" "$libdir/dolphindb" "$bindir"
    install -m 644 lua/dolphindb/*.lua "$luadir/dolphindb/"
    install -m 755 "$build_dir/lua/dolphindb/core.so" "$libdir/dolphindb/core.so"
    if [ -f "$build_dir/lua/dolphindb/ngxcore.so" ]; then
      install -m 755 "$build_dir/lua/dolphindb/ngxcore.so" "$libdir/dolphindb/ngxcore.so"
    fi
    install -m 755 "$build_dir/ddblua" "$bindir/ddblua"
    say "installed dolphindb.core, dolphindb/*.lua and ddblua"
    ;;
  *)
    echo "usage: bash rockspec/build.sh build LUA_INCDIR | install LUADIR LIBDIR BINDIR" >&2
    exit 2
    ;;
esac
