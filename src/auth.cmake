# Credential cryptography (ddb_auth.c): SCRAM-SHA-256 and RSA-encrypted login, pure
# functions over OpenSSL. Its own library so the connection layer and ddbmini can
# both link it without pulling in each other.
# The connection's login (src/proto/ddb_login.c) uses it, so every build needs OpenSSL
# (Debian: libssl-dev).
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl)
add_library(ddbauth STATIC src/proto/ddb_auth.c)
target_include_directories(ddbauth PUBLIC ${DDB_INCLUDE_DIRS})
target_link_libraries(ddbauth PUBLIC PkgConfig::OPENSSL)

if(DDB_BUILD_TESTS)
  add_executable(test_auth tests/test_auth.c)
  target_link_libraries(test_auth PRIVATE ddbauth)
  add_test(NAME auth COMMAND test_auth)
endif()
