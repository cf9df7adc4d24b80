# Core: the protocol layer (sans-I/O) and the libuv connection pool, with its public
# C API in include/dolphindb.h. Tests run against ddbmini over real sockets.
set(DDB_CORE_SOURCES src/ddb_proto.c)
foreach(f src/ddb_task.c src/ddb_conn.c src/ddb_login.c src/ddb_tls.c src/ddb_uv.c src/ddb_qhost.c src/ddb_pool.c src/ddb_pool_info.c src/ddb_ha.c
          src/ddb_thread.c)
  if(EXISTS "${CMAKE_SOURCE_DIR}/${f}")
    list(APPEND DDB_CORE_SOURCES ${f})
  endif()
endforeach()
add_library(ddbcore STATIC ${DDB_CORE_SOURCES})
set_target_properties(ddbcore PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_include_directories(ddbcore PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(ddbcore PUBLIC ddbcodec ddbauth PkgConfig::LIBUV Threads::Threads)

add_executable(test_proto tests/test_proto.c)
target_link_libraries(test_proto ddbcore)
add_test(NAME proto COMMAND test_proto)

# Pool tests run against ddbmini (built by testserver/testserver.cmake) over sockets.
# testserver.cmake is included after this file: targets are referenced by name.
set(DDB_HAVE_DDBMINI FALSE)
if(EXISTS "${CMAKE_SOURCE_DIR}/testserver/testserver.cmake"
   AND (DDB_BUILD_TESTS OR DDB_INSTALL_DDBMINI))   # CMakeLists.txt includes it only then
  set(DDB_HAVE_DDBMINI TRUE)
endif()
set(DDB_POOL_TESTS test_pool_basic test_pool_faults test_pool_ha test_pool_thread test_qhost)
foreach(t ${DDB_POOL_TESTS})
  if(EXISTS "${CMAKE_SOURCE_DIR}/tests/${t}.c")
    add_executable(${t} tests/${t}.c tests/pool_support.c)
    target_link_libraries(${t} ddbcore)
    target_compile_definitions(${t} PRIVATE DDBMINI_PATH="${CMAKE_BINARY_DIR}/ddbmini")
    if(DDB_HAVE_DDBMINI)
      add_dependencies(${t} ddbmini)   # defined later by testserver.cmake
    endif()
    add_test(NAME ${t} COMMAND ${t})
    set_tests_properties(${t} PROPERTIES TIMEOUT 120)
  endif()
endforeach()

# bench_pool: pool throughput beside a raw blocking client (not a test).
if(DDB_HAVE_DDBMINI AND EXISTS "${CMAKE_SOURCE_DIR}/bench/bench_pool.c")
  add_executable(bench_pool bench/bench_pool.c tests/pool_support.c)
  target_include_directories(bench_pool PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(bench_pool ddbcore)
  target_compile_definitions(bench_pool PRIVATE DDBMINI_PATH="${CMAKE_BINARY_DIR}/ddbmini")
  add_dependencies(bench_pool ddbmini)
endif()

# bench_download_c: one big download through the C API (run by bench/bench_download.lua).
if(DDB_HAVE_DDBMINI AND EXISTS "${CMAKE_SOURCE_DIR}/bench/bench_download_c.c")
  add_executable(bench_download_c bench/bench_download_c.c tests/pool_support.c)
  target_include_directories(bench_download_c PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(bench_download_c ddbcore)
  target_compile_definitions(bench_download_c PRIVATE DDBMINI_PATH="${CMAKE_BINARY_DIR}/ddbmini")
endif()

# examples/seed_pool.c: the seed's 4 x sleep(2000) scenario on the public C API.
if(EXISTS "${CMAKE_SOURCE_DIR}/examples/seed_pool.c")
  add_executable(seed_pool examples/seed_pool.c)
  target_link_libraries(seed_pool ddbcore)
  if(DDB_HAVE_DDBMINI)
    add_test(NAME example_seed_pool COMMAND seed_pool)
    set_tests_properties(example_seed_pool PROPERTIES TIMEOUT 30
      ENVIRONMENT "DDBMINI=${CMAKE_BINARY_DIR}/ddbmini")
  endif()
endif()
