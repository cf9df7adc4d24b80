# The Lua side: the C module `dolphindb.core` (loaded by any LuaJIT, including nginx's)
# and the `ddblua` host program that embeds LuaJIT and runs a script under the scheduler.
#
# The module never links libluajit: on Linux a Lua C module takes lua_* from the host
# process (luajit, nginx, ddblua). Only ddblua links libluajit, because it is the host.

add_library(dolphindb_core MODULE
  src/lua/lua_core.c                                    # luaopen_dolphindb_core
  src/lua/lua_loop.c src/lua/lua_qhost.c src/lua/lua_tickets.c   # hosts, tickets
  src/lua/lua_value.c                                   # values <-> objects
  src/lua/lua_take.c                                    # columns of some rows (writers)
  src/lua/lua_pool.c src/lua/lua_task.c src/lua/lua_pin.c src/lua/lua_pool_info.c  # pool binding
  src/lua/lua_sub.c src/lua/lua_held.c src/lua/lua_args.c src/lua/lua_options.c
  src/lua/lua_logq.c src/lua/lua_fetch.c)              # event log, fetchSize blocks
set_target_properties(dolphindb_core PROPERTIES
  OUTPUT_NAME core
  PREFIX ""
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lua/dolphindb
  C_VISIBILITY_PRESET hidden)
target_include_directories(dolphindb_core PRIVATE ${LUAJIT_INCLUDE_DIRS} ${DDB_INCLUDE_DIRS})
target_link_libraries(dolphindb_core PRIVATE ddbcore)   # the hosts (lua_loop.c) live there
target_link_libraries(dolphindb_core PRIVATE ddbcodec ddbtext)
target_link_libraries(dolphindb_core PRIVATE PkgConfig::LIBUV PkgConfig::LZ4 m)

# ddblua: the host. Two builds of one source: `ddblua` in the build tree also finds
# the clone's lua/ (DDB_SOURCE_LUA_DIR); the installed one (target ddblua_installed,
# installed as bin/ddblua) holds no build-time path at all and finds the modules
# relative to itself, through the install layout (bin -> share/lua/5.1, lib/lua/5.1).
include(GNUInstallDirs)
file(RELATIVE_PATH DDB_LUA_REL_LDIR "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${CMAKE_INSTALL_DATADIR}/lua/5.1")
file(RELATIVE_PATH DDB_LUA_REL_CDIR "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${CMAKE_INSTALL_LIBDIR}/lua/5.1")
foreach(_ddb_host ddblua ddblua_installed)
  add_executable(${_ddb_host} src/ddblua/ddblua.c)
  target_include_directories(${_ddb_host} PRIVATE ${LUAJIT_INCLUDE_DIRS})
  target_link_directories(${_ddb_host} PRIVATE ${LUAJIT_LIBRARY_DIRS})
  target_link_libraries(${_ddb_host} PRIVATE ${LUAJIT_LIBRARIES} m dl)
  target_compile_definitions(${_ddb_host} PRIVATE
    DDB_INSTALL_LUA_LDIR="${DDB_LUA_REL_LDIR}" DDB_INSTALL_LUA_CDIR="${DDB_LUA_REL_CDIR}")
  add_dependencies(${_ddb_host} dolphindb_core)
endforeach()
set_target_properties(ddblua PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
target_compile_definitions(ddblua PRIVATE DDB_SOURCE_LUA_DIR="${CMAKE_SOURCE_DIR}/lua")
set_target_properties(ddblua_installed PROPERTIES OUTPUT_NAME ddblua
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/installed)

install(TARGETS dolphindb_core LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/lua/5.1/dolphindb)
install(DIRECTORY lua/dolphindb DESTINATION ${CMAKE_INSTALL_DATADIR}/lua/5.1 FILES_MATCHING PATTERN "*.lua")
install(TARGETS ddblua_installed RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The module may leave only lua_*/luaL_* (from the host) and system libraries
# unresolved: anything else means a part of the core was not linked in and
# `require "dolphindb.core"` would fail at run time.
add_test(NAME lua_module_symbols COMMAND sh -c
  "bad=$(nm -D --undefined-only \"$1\" | awk '$1 == \"U\" {print $2}' | grep -Ev '^(lua_|luaL_|uv_|LZ4|__asan|__ubsan|__sanitizer)|@' ); if [ -n \"$bad\" ]; then echo \"unresolved in core.so: $bad\"; exit 1; fi; echo 'core.so: only lua_*/luaL_* and system symbols unresolved'"
  sh $<TARGET_FILE:dolphindb_core>)
add_test(NAME ddblua_runs COMMAND ddblua -e "local ddb = require 'dolphindb'; assert(ddb.DBConnectionPool); ddb.sleep(0.01); print('ddblua ok', ddb._VERSION)")

# The ticket numbers and the ticket -> task map under the binding's hot path, in C.
add_executable(test_lua_tables tests/test_lua_tables.c src/lua/lua_held.c src/lua/lua_tickets.c)
target_include_directories(test_lua_tables PRIVATE ${DDB_INCLUDE_DIRS})
target_link_libraries(test_lua_tables ddbcore m)
add_test(NAME lua_tables COMMAND test_lua_tables)
