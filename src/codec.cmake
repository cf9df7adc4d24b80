# Codec: the object model, encoder, incremental decoder, compression.
# No sockets, no loop, no Lua. (Literal text, ddb_text.c, is listed in src/text.cmake.)
set(DDB_CODEC_ROOT ${CMAKE_CURRENT_LIST_DIR}/..)
add_library(ddbcodec STATIC
  ${DDB_CODEC_ROOT}/src/ddb_buf.c
  ${DDB_CODEC_ROOT}/src/ddb_obj.c
  ${DDB_CODEC_ROOT}/src/ddb_obj_equal.c
)
target_include_directories(ddbcodec PUBLIC ${DDB_CODEC_ROOT}/src)
target_link_libraries(ddbcodec PUBLIC PkgConfig::LZ4 m)
