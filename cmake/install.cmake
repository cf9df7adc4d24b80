# Install rules: `cmake --install BUILD [--prefix DIR]` lays out
#
#   bin/ddblua [bin/ddbmini]                         the Lua host [the test server, with
#                                                     -DDDB_INSTALL_DDBMINI=ON]
#   lib/libddbcore.a libddbauth.a libddbcodec.a [libddbtext.a]  the C core (static, PIC)
#   lib/pkgconfig/dolphindb.pc                        cflags/libs for C programs
#   include/dolphindb/dolphindb.h + ddb_*.h           the public C API and the headers
#                                                     it includes (object model, codec)
#   lib/lua/5.1/dolphindb/core.so                     the Lua C module
#   share/lua/5.1/dolphindb/*.lua                     the Lua side of the module
#   share/doc/dolphindb/                              README.md and docs/*.md
#
# The Lua module, its Lua files and ddblua are installed by src/lua.cmake (beside
# their targets); this file adds everything else. Targets come from the component
# .cmake files.
# spec/install_spec.lua checks the result in a temporary prefix.
include(GNUInstallDirs)

set(DDB_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/dolphindb")

# ---- C libraries: static, position-independent (so they link into shared objects)
set(_ddb_installed_libs "")
foreach(lib ddbcore ddbauth ddbtext ddbcodec)  # link order: users first
  if(TARGET ${lib})
    get_target_property(_ddb_type ${lib} TYPE)
    if(_ddb_type STREQUAL "STATIC_LIBRARY")
      install(TARGETS ${lib} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
      string(APPEND _ddb_installed_libs " -l${lib}")
    endif()
  endif()
endforeach()

# ---- headers: the public ones are include/dolphindb/*.h (dolphindb.h includes the
# others by their bare names, so they share a folder)
file(GLOB _ddb_headers "${CMAKE_SOURCE_DIR}/include/dolphindb/*.h")
install(FILES ${_ddb_headers} DESTINATION ${DDB_INSTALL_INCLUDEDIR})

# ---- pkg-config: relative to the .pc file, so `cmake --install --prefix` anywhere works
if(_ddb_installed_libs)
  file(RELATIVE_PATH _ddb_pc_to_prefix
       "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" _ddb_pc_to_prefix_trimmed "${_ddb_pc_to_prefix}")
  set(_ddb_pc "${CMAKE_BINARY_DIR}/dolphindb.pc")
  file(WRITE "${_ddb_pc}" "\
prefix=\${pcfiledir}/${_ddb_pc_to_prefix_trimmed}
libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}
includedir=\${prefix}/${DDB_INSTALL_INCLUDEDIR}

Name: dolphindb
Description: DolphinDB client core: object codec and asynchronous connection pool on libuv
Version: ${PROJECT_VERSION}
Requires: libuv liblz4 libssl libcrypto
Cflags: -I\${includedir} -I\${includedir}/..
Libs: -L\${libdir}${_ddb_installed_libs} -lm -pthread
")
  install(FILES "${_ddb_pc}" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()

# ---- the test server, only when asked (-DDDB_INSTALL_DDBMINI=ON); the Lua module
# and ddblua: see src/lua.cmake
if(TARGET ddbmini AND DDB_INSTALL_DDBMINI)
  install(TARGETS ddbmini RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# ---- documentation
file(GLOB _ddb_docs "${CMAKE_SOURCE_DIR}/docs/*.md")
install(FILES "${CMAKE_SOURCE_DIR}/README.md" ${_ddb_docs}
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/dolphindb)
