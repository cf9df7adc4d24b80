# dolphindb.ngxcore: the loop-thread pool (ddb_pool_thread_*) as a Lua C module for
# nginx workers (docs/DESIGN.md "nginx", option A; lua/dolphindb/ngx.lua is its Lua side).
# Like core.so it never links libluajit: nginx's Lua module provides lua_*.
# The value conversion (src/lua_value.c) is compiled in; it hands objects to
# dolphindb.value, which uses dolphindb.core's object handles.
if(TARGET ddbcore AND EXISTS "${CMAKE_SOURCE_DIR}/src/lua_value.c"
   AND EXISTS "${CMAKE_SOURCE_DIR}/src/ddb_thread.c")
  add_library(dolphindb_ngxcore MODULE src/lua_ngx.c src/lua_args.c src/lua_tickets.c
    src/lua_value.c)
  set_target_properties(dolphindb_ngxcore PROPERTIES
    OUTPUT_NAME ngxcore
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lua/dolphindb
    C_VISIBILITY_PRESET hidden)
  target_include_directories(dolphindb_ngxcore PRIVATE ${LUAJIT_INCLUDE_DIRS}
    ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(dolphindb_ngxcore PRIVATE ddbcore)
  foreach(lib ddbcodec ddbtext)
    if(TARGET ${lib})
      target_link_libraries(dolphindb_ngxcore PRIVATE ${lib})
    endif()
  endforeach()
  target_link_libraries(dolphindb_ngxcore PRIVATE PkgConfig::LIBUV PkgConfig::LZ4 Threads::Threads m)
  if(TARGET dolphindb_core)
    add_dependencies(dolphindb_ngxcore dolphindb_core)   # ngx.lua needs both modules
  endif()

  # Same rule as core.so: only lua_* (from the host) and system symbols unresolved.
  add_test(NAME lua_ngx_module_symbols COMMAND sh -c
    "bad=$(nm -D --undefined-only \"$1\" | awk '$1 == \"U\" {print $2}' | grep -Ev '^(lua_|luaL_|uv_|LZ4|__asan|__ubsan|__sanitizer)|@' ); if [ -n \"$bad\" ]; then echo \"unresolved in ngxcore.so: $bad\"; exit 1; fi; echo 'ngxcore.so: only lua_*/luaL_* and system symbols unresolved'"
    sh $<TARGET_FILE:dolphindb_ngxcore>)

  # http_load: the concurrent HTTP client the nginx spec and bench drive nginx with.
  if(EXISTS "${CMAKE_SOURCE_DIR}/bench/http_load.c")
    add_executable(http_load bench/http_load.c)
    set_target_properties(http_load PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
    target_link_libraries(http_load PRIVATE m)
  endif()
endif()
