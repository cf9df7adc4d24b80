# Core: the protocol layer (sans-I/O) and the libuv connection pool, with its public
# C API in include/dolphindb/dolphindb.h. Tests run against ddbmini over real sockets.
add_library(ddbcore STATIC
  src/proto/ddb_proto.c src/proto/ddb_login.c src/proto/ddb_tls.c         # protocol, sans-I/O
  src/proto/ddb_stream.c
  src/pool/ddb_task.c src/pool/ddb_conn.c src/pool/ddb_pool.c             # the pool core
  src/pool/ddb_pool_new.c src/pool/ddb_pool_shutdown.c src/pool/ddb_pool_faults.c
  src/pool/ddb_pool_ids.c
  src/pool/ddb_pool_info.c src/pool/ddb_ha.c src/pool/ddb_thread.c src/pool/ddb_log.c
  src/pool/ddb_cluster.c src/pool/ddb_pin.c                                # pinned connections
  src/pool/ddb_fetch.c                                                    # fetchSize blocks
  src/pool/ddb_sub.c src/pool/ddb_sub_rows.c                              # subscriptions
  src/hosts/ddb_uv.c src/hosts/ddb_qhost.c)                               # its hosts
set_target_properties(ddbcore PROPERTIES POSITION_INDEPENDENT_CODE ON)
# -fPIC alone lets GCC assume any exported function may be replaced at load time, so it
# never inlines one into its own file's callers (ddb_task_state, ddb_pool_is_stopping...
# on every task). No one interposes these symbols.
include(CheckCCompilerFlag)
check_c_compiler_flag(-fno-semantic-interposition DDB_HAVE_NO_SEMANTIC_INTERPOSITION)
if(DDB_HAVE_NO_SEMANTIC_INTERPOSITION)
  target_compile_options(ddbcore PRIVATE -fno-semantic-interposition)
endif()
target_include_directories(ddbcore PUBLIC ${DDB_INCLUDE_DIRS})
target_link_libraries(ddbcore PUBLIC ddbcodec ddbauth PkgConfig::LIBUV Threads::Threads)

add_executable(test_proto tests/test_proto.c)
target_link_libraries(test_proto ddbcore)
add_test(NAME proto COMMAND test_proto)
add_executable(test_proto_blocks tests/test_proto_blocks.c)
target_include_directories(test_proto_blocks PRIVATE tests)
target_link_libraries(test_proto_blocks ddbcore)
add_test(NAME proto_blocks COMMAND test_proto_blocks)

# Pool tests run against ddbmini (built by testserver/testserver.cmake) over sockets.
# testserver.cmake is included after this file: targets are referenced by name.
set(DDB_HAVE_DDBMINI FALSE)
if(DDB_BUILD_TESTS OR DDB_INSTALL_DDBMINI)   # CMakeLists.txt includes testserver then
  set(DDB_HAVE_DDBMINI TRUE)
endif()
set(DDB_POOL_TESTS test_pool_basic test_pool_faults test_pool_ha test_pool_thread test_qhost
    test_pool_cluster test_pool_fetch test_sub test_self_connect test_pool_pin)
foreach(t ${DDB_POOL_TESTS})
  add_executable(${t} tests/${t}.c tests/pool_support.c)
  target_link_libraries(${t} ddbcore)
  target_compile_definitions(${t} PRIVATE DDBMINI_PATH="${CMAKE_BINARY_DIR}/ddbmini")
  if(DDB_HAVE_DDBMINI)
    add_dependencies(${t} ddbmini)   # defined later by testserver.cmake
  endif()
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES TIMEOUT 120)
endforeach()

# bench_pool: pool throughput beside a raw blocking client (not a test).
if(DDB_HAVE_DDBMINI)
  add_executable(bench_pool bench/bench_pool.c tests/pool_support.c)
  target_include_directories(bench_pool PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(bench_pool ddbcore)
  target_compile_definitions(bench_pool PRIVATE DDBMINI_PATH="${CMAKE_BINARY_DIR}/ddbmini")
  add_dependencies(bench_pool ddbmini)
endif()

# bench_download_c: one big download through the C API (run by bench/bench_download.lua).
if(DDB_HAVE_DDBMINI)
  add_executable(bench_download_c bench/bench_download_c.c tests/pool_support.c)
  target_include_directories(bench_download_c PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(bench_download_c ddbcore)
  target_compile_definitions(bench_download_c PRIVATE DDBMINI_PATH="${CMAKE_BINARY_DIR}/ddbmini")
endif()

# examples/seed_pool.c: the seed's 4 x sleep(2000) scenario on the public C API.
add_executable(seed_pool examples/seed_pool.c)
target_link_libraries(seed_pool ddbcore)
if(DDB_HAVE_DDBMINI)
  add_test(NAME example_seed_pool COMMAND seed_pool)
  set_tests_properties(example_seed_pool PROPERTIES TIMEOUT 30
    ENVIRONMENT "DDBMINI=${CMAKE_BINARY_DIR}/ddbmini")
endif()
