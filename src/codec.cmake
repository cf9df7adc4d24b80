# Codec: the object model, encoder, incremental decoder, compression, literal text.
# No sockets, no loop, no Lua.
add_library(ddbcodec STATIC
  src/ddb_buf.c
  src/ddb_obj.c
  src/ddb_decode.c
  src/ddb_encode.c
  src/ddb_compress.c
  src/ddb_text.c
)
target_include_directories(ddbcodec PUBLIC ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(ddbcodec PUBLIC PkgConfig::LZ4 m)
