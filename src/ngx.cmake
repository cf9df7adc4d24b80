# nginx: there is no nginx-specific C module any more. Inside nginx the same
# dolphindb.core runs its pools on the queue host (src/hosts/ddb_qhost.c), driven by
# lua/dolphindb/ngx_sched.lua with cosockets and ngx.timer.
#
# http_load: the concurrent HTTP client the nginx spec and bench drive nginx with.
if(DDB_BUILD_TESTS)
  add_executable(http_load bench/http_load.c)
  set_target_properties(http_load PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  target_link_libraries(http_load PRIVATE m)
endif()
