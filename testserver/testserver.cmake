# ddbmini: the bundled DolphinDB-protocol test server (a test double).
set(DDBMINI_DIR ${CMAKE_CURRENT_LIST_DIR})
set(DDBMINI_CORE_SOURCES
  ${DDBMINI_DIR}/request.c
  ${DDBMINI_DIR}/response.c
  ${DDBMINI_DIR}/session.c
  ${DDBMINI_DIR}/quick.c
  ${DDBMINI_DIR}/mini.c
  ${DDBMINI_DIR}/faults.c
  ${DDBMINI_DIR}/cluster.c
  ${DDBMINI_DIR}/lexer.c
  ${DDBMINI_DIR}/parser.c
  ${DDBMINI_DIR}/eval.c
  ${DDBMINI_DIR}/ops.c
  ${DDBMINI_DIR}/values.c
  ${DDBMINI_DIR}/builtins_core.c
  ${DDBMINI_DIR}/builtins_data.c
  ${DDBMINI_DIR}/builtins_server.c
  ${DDBMINI_DIR}/tables.c
  ${DDBMINI_DIR}/builtins_tables.c
  ${DDBMINI_DIR}/dfs.c
  ${DDBMINI_DIR}/sql.c
  ${DDBMINI_DIR}/streaming.c
  ${DDBMINI_DIR}/builtins_streaming.c
  ${DDBMINI_DIR}/auth.c
)
add_executable(ddbmini ${DDBMINI_DIR}/main.c ${DDBMINI_DIR}/server.c ${DDBMINI_DIR}/tls.c
               ${DDBMINI_CORE_SOURCES})
target_include_directories(ddbmini PRIVATE ${DDBMINI_DIR})
target_link_libraries(ddbmini PRIVATE ddbtext ddbcodec ddbauth PkgConfig::LIBUV Threads::Threads m)
set_target_properties(ddbmini PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

# ---- tests: C programs talking to a real ddbmini over sockets ----
add_library(mini_client STATIC ${CMAKE_SOURCE_DIR}/tests/mini_client.c)
target_include_directories(mini_client PUBLIC ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(mini_client PUBLIC ddbcodec)

add_library(ddbmini_harness STATIC ${CMAKE_SOURCE_DIR}/tests/ddbmini_harness.c)
target_link_libraries(ddbmini_harness PUBLIC mini_client ddbtext)

foreach(t script protocol faults load tables)
  add_executable(test_ddbmini_${t} ${CMAKE_SOURCE_DIR}/tests/test_ddbmini_${t}.c)
  target_link_libraries(test_ddbmini_${t} PRIVATE ddbmini_harness Threads::Threads)
  add_test(NAME ddbmini_${t} COMMAND test_ddbmini_${t} $<TARGET_FILE:ddbmini>)
endforeach()

# Logins without the password in clear, TLS, and a recording proxy to prove it.
add_executable(recording_proxy ${CMAKE_SOURCE_DIR}/tests/recording_proxy.c)
add_executable(test_ddbmini_auth ${CMAKE_SOURCE_DIR}/tests/test_ddbmini_auth.c)
target_link_libraries(test_ddbmini_auth PRIVATE ddbmini_harness ddbauth Threads::Threads)
add_test(NAME ddbmini_auth COMMAND test_ddbmini_auth $<TARGET_FILE:ddbmini> $<TARGET_FILE:recording_proxy>)

# Seeded random objects of every form and type: codec round trips, and ddbmini's echo.
add_executable(test_codec_random ${CMAKE_SOURCE_DIR}/tests/test_codec_random.c)
target_link_libraries(test_codec_random PRIVATE ddbmini_harness codec_test_support Threads::Threads)
add_test(NAME test_codec_random COMMAND test_codec_random $<TARGET_FILE:ddbmini>)

# ---- libFuzzer targets (clang, -DDDB_FUZZ=ON): scripts, and whole requests ----
if(DDB_FUZZ AND TARGET ddbcodec_fuzz)
  foreach(target script request)
    set(name fuzz_ddbmini_${target})
    add_executable(${name} ${DDBMINI_DIR}/fuzz_${target}.c ${DDBMINI_CORE_SOURCES}
                   ${CMAKE_SOURCE_DIR}/src/codec/ddb_text.c
                   ${CMAKE_SOURCE_DIR}/src/codec/ddb_text_parse.c)
    target_include_directories(${name} PRIVATE ${DDBMINI_DIR})
    target_compile_definitions(${name} PRIVATE DDBMINI_FUZZ)
    target_link_libraries(${name} ddbcodec_fuzz ddbauth PkgConfig::LIBUV Threads::Threads m)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endforeach()
endif()

# ---- bench_ddbmini: ddbmini's own CPU and instructions per request (not a test) ----
add_executable(bench_ddbmini ${CMAKE_SOURCE_DIR}/bench/bench_ddbmini.c)
target_compile_definitions(bench_ddbmini PRIVATE DDBMINI_PATH="$<TARGET_FILE:ddbmini>")
add_dependencies(bench_ddbmini ddbmini)
set_target_properties(bench_ddbmini PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

# ---- streaming: stream tables and reverse-mode publishing (streaming.c), read with
# the client's sans-I/O parser (src/proto/ddb_stream.c, target ddbstream from src/stream.cmake)
if(TARGET ddbstream)
  add_executable(test_ddbmini_stream ${CMAKE_SOURCE_DIR}/tests/test_ddbmini_stream.c)
  target_link_libraries(test_ddbmini_stream PRIVATE ddbmini_harness ddbstream Threads::Threads)
  add_test(NAME ddbmini_stream COMMAND test_ddbmini_stream $<TARGET_FILE:ddbmini>)
  set_tests_properties(ddbmini_stream PROPERTIES TIMEOUT 120)
endif()
