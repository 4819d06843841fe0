# CMake toolchain file for wasm-dl: C (and C++) for wasm32-wasi with Debian's clang-19/lld-19 and the
# sysroot scripts/setup.sh prepares. Shared libraries (`add_library(NAME SHARED ...)`) become
# wasm-dl side modules (PIC, `dylink.0`), executables ordinary (non-PIC) main modules; compose
# them with `wasm_dl_compose` from WasmDl.cmake (beside this file).
#
#   cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=<wasm-dl>/cmake/wasm32-wasi-toolchain.cmake
#
# Settings (cache variables or environment variables of the same name):
#   WASM_DL_SYSROOT  the wasi sysroot (default: ~/.cache/wasm-dl/sysroot, `scripts/setup.sh
#                    --print-sysroot` prints it)
#   WASM_DL_CLANG    the C compiler (default: clang-19); WASM_DL_CLANGXX the C++ one (clang++-19)

set(CMAKE_SYSTEM_NAME WASI)
set(CMAKE_SYSTEM_VERSION 1)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
# Platform/WASI.cmake: CMake 3.25 knows no WASI platform (and would build no shared library).
list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")

foreach(var WASM_DL_SYSROOT WASM_DL_CLANG WASM_DL_CLANGXX)
  if(NOT DEFINED ${var} AND DEFINED ENV{${var}})
    set(${var} "$ENV{${var}}")
  endif()
endforeach()
if(NOT DEFINED WASM_DL_SYSROOT)
  set(WASM_DL_SYSROOT "$ENV{HOME}/.cache/wasm-dl/sysroot")
endif()
if(NOT EXISTS "${WASM_DL_SYSROOT}/include/wasm32-wasi")
  message(FATAL_ERROR "wasm-dl: no wasi sysroot at ${WASM_DL_SYSROOT} (no include/wasm32-wasi); "
    "run `bash scripts/setup.sh` in the wasm-dl checkout, or give -DWASM_DL_SYSROOT=DIR")
endif()
if(NOT DEFINED WASM_DL_CLANG)
  set(WASM_DL_CLANG clang-19)
endif()
if(NOT DEFINED WASM_DL_CLANGXX)
  set(WASM_DL_CLANGXX clang++-19)
endif()
# try_compile projects load this file again: hand them the same settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WASM_DL_SYSROOT WASM_DL_CLANG WASM_DL_CLANGXX)

set(CMAKE_C_COMPILER "${WASM_DL_CLANG}")
set(CMAKE_CXX_COMPILER "${WASM_DL_CLANGXX}")
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
set(CMAKE_CXX_COMPILER_TARGET wasm32-wasi)
set(CMAKE_SYSROOT "${WASM_DL_SYSROOT}")
# Debian's wasm32 libc++ is built without exceptions (TOOLCHAIN.md).
set(CMAKE_CXX_FLAGS_INIT "-fno-exceptions")

set(CMAKE_FIND_ROOT_PATH "${WASM_DL_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
