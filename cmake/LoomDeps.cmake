# LoomDeps.cmake - the dependencies of the core, each with the Debian
# package that provides it, so that a missing one says what to install.
find_package(PkgConfig)

macro(loom_require_pkg var module debian)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(${var} IMPORTED_TARGET ${module})
  endif()
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "loom needs ${module}: install the Debian package ${debian} "
                        "(apt-get install ${debian}); ./scripts/demo and ./scripts/test install what they need.")
  endif()
endmacro()

if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "loom needs pkg-config: apt-get install pkg-config")
endif()
loom_require_pkg(PROTOBUF_C libprotobuf-c libprotobuf-c-dev)
loom_require_pkg(JANSSON jansson libjansson-dev)

find_program(LOOM_PROTOC_C protoc-c)
if(NOT LOOM_PROTOC_C)
  message(FATAL_ERROR "loom needs protoc-c: apt-get install protobuf-c-compiler")
endif()
set(LOOM_ONNX_PROTO /usr/include/onnx/onnx.proto CACHE FILEPATH
    "onnx.proto the importer is generated from (Debian libonnx-dev)")
if(NOT EXISTS ${LOOM_ONNX_PROTO})
  message(FATAL_ERROR "loom needs ${LOOM_ONNX_PROTO}: apt-get install libonnx-dev")
endif()

# OpenCL (the ICD loader; devices come from installed ICDs such as PoCL).
if(NOT LOOM_WITH_OPENCL STREQUAL "OFF")
  pkg_check_modules(OPENCL IMPORTED_TARGET OpenCL)
  if(NOT OPENCL_FOUND OR NOT EXISTS /usr/include/CL/cl.h)
    if(LOOM_WITH_OPENCL STREQUAL "ON")
      message(FATAL_ERROR "LOOM_WITH_OPENCL needs the OpenCL ICD loader and headers: "
                          "apt-get install ocl-icd-opencl-dev opencl-headers (and pocl-opencl-icd for a CPU device)")
    endif()
    message(STATUS "OpenCL not found: the opencl backend is not built "
                   "(apt-get install ocl-icd-opencl-dev opencl-headers pocl-opencl-icd)")
    set(LOOM_HAVE_OPENCL OFF)
  else()
    set(LOOM_HAVE_OPENCL ON)
  endif()
else()
  set(LOOM_HAVE_OPENCL OFF)
endif()

# Verilator (the sim/ harness and the vsim device) and a C++ compiler.
if(NOT LOOM_WITH_VERILATOR STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CXX)
  if(CMAKE_CXX_COMPILER)
    enable_language(CXX)  # verilator-config.cmake checks C++ flags when found
    find_package(verilator 5 QUIET HINTS $ENV{VERILATOR_ROOT} /usr/share/verilator)
  endif()
  if(NOT verilator_FOUND OR NOT CMAKE_CXX_COMPILER)
    if(LOOM_WITH_VERILATOR STREQUAL "ON")
      message(FATAL_ERROR "LOOM_WITH_VERILATOR needs Verilator 5 and a C++ compiler: apt-get install verilator g++")
    endif()
    message(STATUS "Verilator not found: the vsim device is not built (apt-get install verilator g++)")
    set(LOOM_HAVE_VERILATOR OFF)
  else()
    set(LOOM_HAVE_VERILATOR ON)
  endif()
else()
  set(LOOM_HAVE_VERILATOR OFF)
endif()
