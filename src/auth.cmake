# Credential cryptography (ddb_auth.c): SCRAM-SHA-256 and RSA-encrypted login, pure
# functions over OpenSSL. Its own library so the connection layer and ddbmini can
# both link it without pulling in each other.
# Nothing installed links it yet, so a build of the shipped parts alone (the rock)
# does not need OpenSSL; ddbmini and the tests do.
if(DDB_BUILD_TESTS OR DDB_INSTALL_DDBMINI)
  pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl)
else()
  pkg_check_modules(OPENSSL IMPORTED_TARGET openssl)
  if(NOT OPENSSL_FOUND)
    return()
  endif()
endif()
add_library(ddbauth STATIC src/ddb_auth.c)
target_include_directories(ddbauth PUBLIC src)
target_link_libraries(ddbauth PUBLIC PkgConfig::OPENSSL)

if(DDB_BUILD_TESTS)
  add_executable(test_auth tests/test_auth.c)
  target_link_libraries(test_auth PRIVATE ddbauth)
  add_test(NAME auth COMMAND test_auth)
endif()
