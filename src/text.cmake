# Literal text (ddb_text.c, ddb_text_parse.c): DolphinDB literal formatting and
# parsing, no I/O, no Lua.
# codec.cmake already compiles ddb_text.c into ddbcodec (the decoder-side display
# needs it); `ddbtext` is the name the text users link, so it never gets compiled twice.
get_target_property(_ddb_codec_sources ddbcodec SOURCES)
if(_ddb_codec_sources MATCHES "ddb_text\\.c")
  add_library(ddbtext INTERFACE)
  target_link_libraries(ddbtext INTERFACE ddbcodec)
else()
  add_library(ddbtext STATIC src/codec/ddb_text.c src/codec/ddb_text_parse.c)
  target_link_libraries(ddbtext PUBLIC ddbcodec)
endif()

add_executable(test_text tests/test_text.c)
target_link_libraries(test_text PRIVATE ddbtext)
add_test(NAME text COMMAND test_text ${DDB_VECTORS_DIR}/cpp-api.tsv)
