# Streaming subscriptions without I/O (src/proto/ddb_stream.c): the subscribe/unsubscribe
# request bodies and the parser of the messages a publisher pushes. The request
# bodies come from the protocol layer (ddb_proto.c, compiled into ddbcore); nothing
# here calls libuv. It is compiled into ddbcore, whose subscriptions (src/pool/ddb_sub.c)
# use it; ddbstream names that for the parser's own tests.
add_library(ddbstream INTERFACE)
target_link_libraries(ddbstream INTERFACE ddbcore ddbcodec)

if(DDB_BUILD_TESTS)
  add_executable(test_stream tests/test_stream.c)
  target_link_libraries(test_stream PRIVATE ddbstream)
  add_test(NAME test_stream COMMAND test_stream)
endif()

# libFuzzer target (clang, -DDDB_FUZZ=ON): pushed bytes into the parser.
if(DDB_FUZZ AND TARGET ddbcodec_fuzz)
  add_executable(fuzz_stream fuzz/fuzz_stream.c src/proto/ddb_stream.c src/proto/ddb_proto.c)
  target_include_directories(fuzz_stream PRIVATE ${DDB_INCLUDE_DIRS})
  target_link_libraries(fuzz_stream ddbcodec_fuzz)
  target_compile_options(fuzz_stream PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_options(fuzz_stream PRIVATE -fsanitize=fuzzer,address,undefined)
  set_target_properties(fuzz_stream PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
endif()
