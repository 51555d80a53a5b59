# LoomMan.cmake - the man page loom.1, made by help2man from the CLI's own
# --help texts (and each command's, scripts/man-include.sh), when help2man
# is installed (apt-get install help2man); installed to share/man/man1.
find_program(LOOM_HELP2MAN help2man)
if(LOOM_HELP2MAN)
  add_custom_command(
    OUTPUT ${PROJECT_BINARY_DIR}/man/loom.1
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/man-include.sh $<TARGET_FILE:loom_cli> ${PROJECT_BINARY_DIR}/man/commands.h2m
    COMMAND ${LOOM_HELP2MAN} --no-info --no-discard-stderr
            --name "run ONNX models on FPGA cards, GPUs and CPUs, checked against a reference"
            --include ${PROJECT_BINARY_DIR}/man/commands.h2m --output ${PROJECT_BINARY_DIR}/man/loom.1
            $<TARGET_FILE:loom_cli>
    DEPENDS loom_cli ${PROJECT_SOURCE_DIR}/scripts/man-include.sh
    COMMENT "Making the man page loom.1 from the --help texts")
  add_custom_target(loom_man ALL DEPENDS ${PROJECT_BINARY_DIR}/man/loom.1)
  install(FILES ${PROJECT_BINARY_DIR}/man/loom.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
else()
  message(STATUS "loom: help2man not found: no man page (apt-get install help2man)")
endif()
install(FILES ${PROJECT_SOURCE_DIR}/scripts/loom-completion.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME loom COMPONENT runtime)
