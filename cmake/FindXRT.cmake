# FindXRT.cmake - the Xilinx Runtime's native API (Debian libxrt-dev, or an
# install under /opt/xilinx/xrt). Debian's xrt.pc has a broken prefix
# (/usr//usr), so this looks for the header and library directly.
#
# Only libxrt_coreutil is linked: it loads the device shim at run time
# (libxrt_core for cards, libxrt_noop/swemu/hwemu for XCL_EMULATION_MODE)
# from $XILINX_XRT/lib. Linking the card shim directly would stop the
# emulation modes from working.
#
# Result: XRT_FOUND, target XRT::coreutil (include folder: the one that
# holds xrt/xrt_device.h, so that <xrt/xrt/xrt_device.h> and XRT's own
# relative includes both resolve).
find_path(XRT_INCLUDE_DIR xrt/xrt_device.h
  PATHS /usr/include/xrt /opt/xilinx/xrt/include NO_DEFAULT_PATH)
find_library(XRT_COREUTIL_LIBRARY NAMES xrt_coreutil
  PATHS /opt/xilinx/xrt/lib)
# XRT's headers include <uuid/uuid.h> (Debian: uuid-dev, which libxrt-dev
# does not pull in)
find_path(XRT_UUID_INCLUDE_DIR uuid/uuid.h)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(XRT REQUIRED_VARS XRT_INCLUDE_DIR XRT_COREUTIL_LIBRARY XRT_UUID_INCLUDE_DIR)
if(XRT_FOUND AND NOT TARGET XRT::coreutil)
  add_library(XRT::coreutil UNKNOWN IMPORTED)
  get_filename_component(_xrt_parent ${XRT_INCLUDE_DIR} DIRECTORY)
  set_target_properties(XRT::coreutil PROPERTIES
    IMPORTED_LOCATION ${XRT_COREUTIL_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES "${XRT_INCLUDE_DIR};${_xrt_parent}")
endif()
mark_as_advanced(XRT_INCLUDE_DIR XRT_COREUTIL_LIBRARY XRT_UUID_INCLUDE_DIR)
