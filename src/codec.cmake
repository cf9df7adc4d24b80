# Codec: the object model, encoder, incremental decoder, compression.
# No sockets, no loop, no Lua. (Literal text, ddb_text*.c, is listed in src/text.cmake.)
set(DDB_CODEC_ROOT ${CMAKE_CURRENT_LIST_DIR}/..)
add_library(ddbcodec STATIC
  ${DDB_CODEC_ROOT}/src/codec/ddb_buf.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_obj.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_alloc.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_obj_equal.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_decode.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_decode_forms.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_decode_symbols.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_decode_compressed.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_decode_scalar.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_encode.c
  ${DDB_CODEC_ROOT}/src/codec/ddb_compress.c
  # The response parser (protocol layer, sans-I/O like the codec): here rather than
  # beside ddb_proto.c in the core library so that the codec's tests, benchmarks and
  # fuzzers link it without the loop.
  ${DDB_CODEC_ROOT}/src/proto/ddb_proto_resp.c
  ${DDB_CODEC_ROOT}/src/proto/ddb_proto_blocks.c
)
target_include_directories(ddbcodec PUBLIC ${DDB_INCLUDE_DIRS})
target_link_libraries(ddbcodec PUBLIC PkgConfig::LZ4 m)

# ---- tests (C programs; each prints what it checked, non-zero exit on failure)
add_library(codec_test_support STATIC
  ${DDB_CODEC_ROOT}/tests/codec_support.c
  ${DDB_CODEC_ROOT}/tests/codec_values.c
  ${DDB_CODEC_ROOT}/tests/codec_go_rows.c
)
target_link_libraries(codec_test_support PUBLIC ddbcodec)
target_include_directories(codec_test_support PUBLIC ${DDB_CODEC_ROOT}/tests)

add_executable(test_codec_vectors ${DDB_CODEC_ROOT}/tests/test_codec_vectors.c)
target_link_libraries(test_codec_vectors codec_test_support)
add_test(NAME test_codec_vectors COMMAND test_codec_vectors ${DDB_VECTORS_DIR})

add_executable(test_codec_examples ${DDB_CODEC_ROOT}/tests/test_codec_examples.c)
target_link_libraries(test_codec_examples codec_test_support)
add_test(NAME test_codec_examples COMMAND test_codec_examples ${DDB_VECTORS_DIR})

add_executable(test_codec_compress ${DDB_CODEC_ROOT}/tests/test_codec_compress.c)
target_link_libraries(test_codec_compress codec_test_support)
add_test(NAME test_codec_compress COMMAND test_codec_compress)

add_executable(test_codec_malformed ${DDB_CODEC_ROOT}/tests/test_codec_malformed.c)
target_link_libraries(test_codec_malformed codec_test_support)
add_test(NAME test_codec_malformed COMMAND test_codec_malformed ${DDB_VECTORS_DIR})

# The response parser's shortcut against its general path.
add_executable(test_resp_fast ${DDB_CODEC_ROOT}/tests/test_resp_fast.c)
target_link_libraries(test_resp_fast codec_test_support)
add_test(NAME test_resp_fast COMMAND test_resp_fast
         ${DDB_CODEC_ROOT}/fuzz/corpus/fuzz_response)

# ---- benchmark (an executable, not a test): bench_decode [rows] [runs]
add_executable(bench_decode ${DDB_CODEC_ROOT}/bench/bench_decode.c)
target_link_libraries(bench_decode ddbcodec)

# ---- benchmark: bench_proto [ops] [runs] — request header and reply parsing, each
# beside its baseline (formatted header, general-path parse) from the same run
# (ddb_proto.c, the request side, belongs to the core library, which needs libuv)
add_executable(bench_proto ${DDB_CODEC_ROOT}/bench/bench_proto.c
               ${DDB_CODEC_ROOT}/src/proto/ddb_proto.c)
target_link_libraries(bench_proto ddbcodec)

add_executable(test_codec_obj ${DDB_CODEC_ROOT}/tests/test_codec_obj.c)
target_link_libraries(test_codec_obj codec_test_support)
add_test(NAME test_codec_obj COMMAND test_codec_obj)

# ---- libFuzzer targets (clang, -DDDB_FUZZ=ON): build-*/fuzz/fuzz_*
if(DDB_FUZZ)
  get_target_property(_ddbcodec_sources ddbcodec SOURCES)
  add_library(ddbcodec_fuzz STATIC ${_ddbcodec_sources})
  target_include_directories(ddbcodec_fuzz PUBLIC ${DDB_INCLUDE_DIRS})
  target_link_libraries(ddbcodec_fuzz PUBLIC PkgConfig::LZ4 m)
  target_compile_options(ddbcodec_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize-recover=all)
  foreach(target fuzz_decode fuzz_roundtrip)
    add_executable(${target} ${DDB_CODEC_ROOT}/fuzz/${target}.c)
    target_link_libraries(${target} ddbcodec_fuzz)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined
                           -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endforeach()
endif()
