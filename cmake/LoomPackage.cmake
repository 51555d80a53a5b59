# LoomPackage.cmake - `cpack -G DEB` in a build folder makes loom's .deb:
# what `cmake --install` puts under the install prefix (configure with
# -DCMAKE_INSTALL_PREFIX=/usr for a system package: the library finds its
# board files where it was configured to be installed), its Depends line
# made by dpkg-shlibdeps from the binaries (Debian package names; dpkg-dev).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME loom)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "loom")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "run ONNX models on FPGA cards, GPUs and CPUs, checked against a reference")
set(CPACK_PACKAGE_DESCRIPTION "loom imports ONNX models, places them on OpenCL devices, Alveo cards (XRT) and a
Verilated systolic array, and checks every result against a reference implementation.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "loom developers <loom@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pocl-opencl-icd | opencl-icd")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
