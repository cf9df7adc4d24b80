-- LuaRocks package of the DolphinDB client for LuaJIT. Builds offline from the source
-- tree with CMake, without tests (Debian 12: cmake pkg-config libuv1-dev liblz4-dev
-- libluajit2-5.1-dev):
--
--   luarocks --lua-version=5.1 make rockspec/dolphindb-scm-1.rockspec [--tree DIR | --local]
--
-- scripts/release.sh makes the versioned rockspec and .src.rock from this file.
-- LuaJIT only: "lua == 5.1" is what LuaRocks can check; rockspec/build.sh stops
-- unless LuaJIT's headers (luajit.h, via pkg-config luajit) are there.
--
-- Installs the C module dolphindb.core (plain LuaJIT and nginx alike), the Lua
-- modules dolphindb, dolphindb.pool, .options, .future, .sched, .ngx_sched, .errors,
-- .value, .build, .plain, .safe, .ngx, and the ddblua host in bin/.
rockspec_format = "3.0"
package = "dolphindb"
version = "scm-1"

source = {
  -- `luarocks make` builds the checkout it runs in and never fetches this URL.
  url = "git+file://.",
}

description = {
  summary = "Asynchronous DolphinDB client for LuaJIT on a C core (libuv)",
  detailed = [[
    A DolphinDB client whose protocol, object codec and connection pool are C on
    libuv, under a Lua module that mirrors the Python API's DBConnectionPool
    (run, addTask/isFinished/getData, runTaskAsync futures, shutDown). Each Lua
    coroutine parks inside pool:run() until its result arrives, so hundreds of
    queries can be in flight from one LuaJIT thread. Requires LuaJIT (uses the FFI).
  ]],
  labels = { "database", "dolphindb", "libuv", "async" },
  license = "MIT",
}

dependencies = {
  "lua == 5.1",     -- LuaJIT reports itself as Lua 5.1; build.sh checks for LuaJIT
}

external_dependencies = {
  LIBUV = { header = "uv.h" },
  LZ4 = { header = "lz4.h" },
}

build = {
  type = "command",
  build_command = [[bash rockspec/build.sh build "$(LUA_INCDIR)"]],
  install_command = [[bash rockspec/build.sh install "$(LUADIR)" "$(LIBDIR)" "$(BINDIR)"]],
  copy_directories = { "docs" },
}
