# Reliability and security (issue 8): fault suite and short soak against ddbmini over
# real sockets, the long soak (bench, not a test), and the response-parser fuzzer.
# Included by the root CMakeLists.txt after src/core.cmake and testserver.cmake.

set(DDB_REL_TESTS test_rel_faults test_rel_overload)
foreach(t ${DDB_REL_TESTS})
  add_executable(${t} tests/${t}.c tests/pool_support.c)
  target_link_libraries(${t} ddbcore)
  target_compile_definitions(${t} PRIVATE DDBMINI_PATH="${CMAKE_BINARY_DIR}/ddbmini")
  add_dependencies(${t} ddbmini)
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES TIMEOUT 120)
endforeach()

# soak: N tasks of mixed sizes through an 8-connection pool, ddbmini killed K times.
#   build-rel/soak 1000000 50      (the long run, see docs/SECURITY.md)
# The short run is a test: 20 000 tasks, 2 kills.
add_executable(soak bench/soak.c tests/pool_support.c)
target_include_directories(soak PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(soak ddbcore)
target_compile_definitions(soak PRIVATE DDBMINI_PATH="${CMAKE_BINARY_DIR}/ddbmini")
add_dependencies(soak ddbmini)
add_test(NAME rel_soak_short COMMAND soak 20000 2)
set_tests_properties(rel_soak_short PROPERTIES TIMEOUT 120)

# libFuzzer: the response-stream parser (ddbmini's request and script parsers have
# their fuzzers in testserver/testserver.cmake).
if(DDB_FUZZ AND TARGET ddbcodec_fuzz)
  add_executable(fuzz_response fuzz/fuzz_response.c ${CMAKE_SOURCE_DIR}/src/proto/ddb_proto.c)
  target_include_directories(fuzz_response PRIVATE ${DDB_INCLUDE_DIRS})
  target_link_libraries(fuzz_response ddbcodec_fuzz)
  target_compile_options(fuzz_response PRIVATE -fsanitize=fuzzer,address,undefined
                         -fno-sanitize-recover=all)
  target_link_options(fuzz_response PRIVATE -fsanitize=fuzzer,address,undefined)
  set_target_properties(fuzz_response PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
endif()

# Hostile servers (issue 12): tests/hostile_server.c misbehaves on purpose (garbage,
# truncation, slowloris, silence, huge sizes, VOID bombs, MSG floods, FIN+RST with
# queued tasks, login errors quoting the password); test_hostile checks one outcome
# per task, survival without ignoring SIGPIPE itself, peak RSS and timer lateness.
add_executable(hostile_server tests/hostile_server.c)
add_executable(test_hostile tests/test_hostile.c tests/pool_support.c)
target_link_libraries(test_hostile ddbcore)
target_compile_definitions(test_hostile PRIVATE
  HOSTILE_PATH="$<TARGET_FILE:hostile_server>")
add_dependencies(test_hostile hostile_server)
add_test(NAME test_hostile COMMAND test_hostile)
set_tests_properties(test_hostile PROPERTIES TIMEOUT 120)
