# wasm-dl for CMake projects: compose a main module (`add_executable`) and its plugins
# (`add_library(NAME SHARED ...)`) into one component. Use with the toolchain file beside this one:
#
#   include(<wasm-dl>/cmake/WasmDl.cmake)
#   add_library(greet SHARED greet.c)
#   add_executable(host main.c)
#   wasm_dl_compose(app MAIN host LIBRARIES greet)   # -> ${CMAKE_CURRENT_BINARY_DIR}/app.wasm
#
# wasm_dl_compose(<name> MAIN <executable target> [LIBRARIES <shared library target>...]
#                 [OUTPUT <file>] [OPTIONS <wasm-dl compose option>...])
#   Links MAIN with the flags `wasm-dl flags main <the libraries>` prints (computed when the
#   libraries are built: the libc symbols they import become main's exports), adds wasm-dl's
#   include directory (dlfcn.h) to MAIN, and adds target <name> (built by default) that runs
#   `wasm-dl compose` into OUTPUT (default `<name>.wasm` in the current binary directory). Each
#   library is found by `dlopen` by its file name (`libgreet.so`). The target's WASM_DL_COMPONENT
#   property holds OUTPUT's path; run it with `${WASM_DL} run <path>`.
#
# WASM_DL (cache variable): the wasm-dl binary; default `wasm-dl` on PATH, else the checkout's
# target/{release,debug}/wasm-dl.

set(WASM_DL_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." CACHE INTERNAL "")
get_filename_component(WASM_DL_ROOT "${WASM_DL_ROOT}" ABSOLUTE)
set(WASM_DL_INCLUDE_DIR "${WASM_DL_ROOT}/include")
find_program(WASM_DL wasm-dl
  HINTS "${WASM_DL_ROOT}/target/release" "${WASM_DL_ROOT}/target/debug"
  DOC "the wasm-dl binary")
if(NOT WASM_DL)
  message(FATAL_ERROR "wasm-dl: no `wasm-dl` binary found; build it (`cargo build -p wasm-dl` in "
    "${WASM_DL_ROOT}) and give -DWASM_DL=<path>/wasm-dl")
endif()
if(NOT WASI)
  message(WARNING "wasm-dl: WasmDl.cmake is meant for the wasm32-wasi toolchain; configure with "
    "-DCMAKE_TOOLCHAIN_FILE=${WASM_DL_ROOT}/cmake/wasm32-wasi-toolchain.cmake")
endif()

# Stops the configure step unless TARGET is a target whose TYPE is one of TYPES (a regex
# alternation); WHAT names its role in wasm_dl_compose(NAME ...), DEFINE how to define it, WANTED
# what a wrong type should have been.
function(_wasm_dl_require_target name what target types define wanted)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "wasm_dl_compose(${name}): ${what} ${target} is no target; define it "
      "with ${define} first")
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type MATCHES "^(${types})$")
    message(FATAL_ERROR "wasm_dl_compose(${name}): ${what} ${target} is a ${type}; ${wanted}")
  endif()
endfunction()

function(wasm_dl_compose name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "MAIN;OUTPUT" "LIBRARIES;OPTIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "wasm_dl_compose(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}; "
      "expected MAIN <target> [LIBRARIES <target>...] [OUTPUT <file>] [OPTIONS <option>...]")
  endif()
  if(NOT arg_MAIN)
    message(FATAL_ERROR "wasm_dl_compose(${name}): no MAIN; give the executable target: "
      "wasm_dl_compose(${name} MAIN <target> LIBRARIES ...)")
  endif()
  _wasm_dl_require_target(${name} MAIN ${arg_MAIN} "EXECUTABLE" "add_executable(${arg_MAIN} ...)"
    "the main module is an add_executable() target")
  set(lib_files)
  foreach(lib IN LISTS arg_LIBRARIES)
    _wasm_dl_require_target(${name} library ${lib} "SHARED_LIBRARY|MODULE_LIBRARY"
      "add_library(${lib} SHARED ...)"
      "wasm-dl composes shared libraries: add_library(${lib} SHARED ...)")
    list(APPEND lib_files "$<TARGET_FILE:${lib}>")
  endforeach()
  if(NOT arg_OUTPUT)
    set(arg_OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm")
  endif()

  # Main's link flags depend on what the built libraries import: a response file, made after
  # them, that main's link reads (and relinks when it changes).
  set(flags "${CMAKE_CURRENT_BINARY_DIR}/${name}.main-flags.rsp")
  add_custom_command(OUTPUT "${flags}"
    COMMAND "${CMAKE_COMMAND}" "-DWASM_DL=${WASM_DL}" "-DOUT=${flags}" "-DLIBS=${lib_files}"
            -P "${WASM_DL_ROOT}/cmake/wasm-dl-main-flags.cmake"
    DEPENDS ${arg_LIBRARIES} "${WASM_DL_ROOT}/cmake/wasm-dl-main-flags.cmake"
    COMMENT "wasm-dl flags main for ${arg_MAIN}"
    VERBATIM)
  add_custom_target(${name}-main-flags DEPENDS "${flags}")
  add_dependencies(${arg_MAIN} ${name}-main-flags)
  target_link_options(${arg_MAIN} PRIVATE "@${flags}")
  set_property(TARGET ${arg_MAIN} APPEND PROPERTY LINK_DEPENDS "${flags}")
  target_include_directories(${arg_MAIN} PRIVATE "${WASM_DL_INCLUDE_DIR}")

  add_custom_command(OUTPUT "${arg_OUTPUT}"
    COMMAND "${WASM_DL}" compose "$<TARGET_FILE:${arg_MAIN}>" ${lib_files} ${arg_OPTIONS}
            -o "${arg_OUTPUT}"
    DEPENDS ${arg_MAIN} ${arg_LIBRARIES}
    COMMENT "wasm-dl compose ${name}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS "${arg_OUTPUT}")
  set_target_properties(${name} PROPERTIES WASM_DL_COMPONENT "${arg_OUTPUT}")
endfunction()
