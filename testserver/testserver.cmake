# ddbmini: the bundled DolphinDB-protocol test server (a test double).
set(DDBMINI_DIR ${CMAKE_CURRENT_LIST_DIR})
add_executable(ddbmini
  ${DDBMINI_DIR}/main.c
  ${DDBMINI_DIR}/server.c
  ${DDBMINI_DIR}/request.c
  ${DDBMINI_DIR}/response.c
  ${DDBMINI_DIR}/session.c
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
)
target_include_directories(ddbmini PRIVATE ${DDBMINI_DIR})
target_link_libraries(ddbmini PRIVATE ddbtext ddbcodec PkgConfig::LIBUV Threads::Threads m)
set_target_properties(ddbmini PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
