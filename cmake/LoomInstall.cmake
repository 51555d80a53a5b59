# LoomInstall.cmake - what `cmake --install` puts where (GNUInstallDirs):
#   bin/loom                         the CLI
#   lib/libloom.so.0.1.0 (+ links)   the shared library, only loom_ exported
#   lib/libloom.a                    the static library (pkg-config --static)
#   include/loom/{loom,kernel-abi,version}.h
#   lib/cmake/loom/                  find_package(loom CONFIG): loom::loom
#   lib/pkgconfig/loom.pc            pkg-config --cflags --libs loom
#   share/loom/boards/*.json         board data (loom_boards_dir() finds it)
#   share/man/man1/loom.1            the man page, when help2man is installed
#   share/bash-completion/completions/loom
include(CMakePackageConfigHelpers)

install(TARGETS loom_shared EXPORT loomTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
install(TARGETS loom ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(TARGETS loom_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/host/include/loom/loom.h ${PROJECT_SOURCE_DIR}/host/include/loom/kernel-abi.h
              ${LOOM_INCLUDE_GEN_DIR}/loom/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/loom COMPONENT dev)
file(GLOB _boards ${PROJECT_SOURCE_DIR}/boards/*.json)
install(FILES ${_boards} ${PROJECT_SOURCE_DIR}/boards/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/loom/boards COMPONENT runtime)
# the RTL with its generated configuration: loom dse synthesises it (yosys)
file(GLOB _rtl ${PROJECT_SOURCE_DIR}/rtl/*.sv)
install(FILES ${_rtl} ${PROJECT_SOURCE_DIR}/rtl/loom_defs.svh ${LOOM_ARRAY_GEN_DIR}/loom_config.svh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/loom/rtl COMPONENT runtime)

install(EXPORT loomTargets NAMESPACE loom:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/loom COMPONENT dev)
foreach(_part OPENCL XRT VERILATOR)
  if(LOOM_HAVE_${_part})
    set(LOOM_HAVE_${_part}_BOOL TRUE)
  else()
    set(LOOM_HAVE_${_part}_BOOL FALSE)
  endif()
endforeach()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/loomConfig.cmake.in
  ${PROJECT_BINARY_DIR}/loomConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/loom)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/loomConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/loomConfig.cmake ${PROJECT_BINARY_DIR}/loomConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/loom COMPONENT dev)

# pkg-config: the static library's own needs in Libs.private
set(LOOM_PC_LIBS_PRIVATE "-lprotobuf-c -ljansson -lpthread -lm")
if(LOOM_HAVE_OPENCL)
  string(APPEND LOOM_PC_LIBS_PRIVATE " -lOpenCL")
endif()
if(LOOM_HAVE_XRT)
  string(APPEND LOOM_PC_LIBS_PRIVATE " -lxrt_coreutil")
endif()
if(LOOM_HAVE_VERILATOR)
  string(APPEND LOOM_PC_LIBS_PRIVATE " -lz")
endif()
if(LOOM_HAVE_VERILATOR OR LOOM_HAVE_XRT)
  string(APPEND LOOM_PC_LIBS_PRIVATE " -lstdc++")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(LOOM_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(LOOM_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(LOOM_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(LOOM_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# relocatable: the prefix is found from the .pc file's own folder, so an
# install with `cmake --install --prefix DIR` works where it lands
file(RELATIVE_PATH LOOM_PC_UP "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/loom.pc.in ${PROJECT_BINARY_DIR}/loom.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/loom.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
