# Core: the protocol layer (sans-I/O) and the libuv connection pool, with its public
# C API in include/dolphindb.h. Tests run against ddbmini over real sockets.
set(DDB_CORE_SOURCES src/ddb_proto.c)
foreach(f src/ddb_task.c src/ddb_conn.c src/ddb_pool.c src/ddb_ha.c src/ddb_thread.c)
  if(EXISTS "${CMAKE_SOURCE_DIR}/${f}")
    list(APPEND DDB_CORE_SOURCES ${f})
  endif()
endforeach()
add_library(ddbcore STATIC ${DDB_CORE_SOURCES})
set_target_properties(ddbcore PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_include_directories(ddbcore PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(ddbcore PUBLIC ddbcodec PkgConfig::LIBUV Threads::Threads)

add_executable(test_proto tests/test_proto.c)
target_link_libraries(test_proto ddbcore)
add_test(NAME proto COMMAND test_proto)
