# The WASI platform for CMake 3.25 (which has none), as wasm-dl builds for it: executables are
# main modules (`.wasm`), shared libraries `dylink.0` side modules (`lib<name>.so`) linked as
# `wasm-dl flags lib` says. Loaded through the toolchain file's CMAKE_MODULE_PATH.

set(WASI 1)
set(UNIX 1)

set(CMAKE_EXECUTABLE_SUFFIX ".wasm")
set(CMAKE_STATIC_LIBRARY_PREFIX "lib")
set(CMAKE_STATIC_LIBRARY_SUFFIX ".a")
set(CMAKE_SHARED_LIBRARY_PREFIX "lib")
set(CMAKE_SHARED_LIBRARY_SUFFIX ".so")
set(CMAKE_SHARED_MODULE_PREFIX "lib")
set(CMAKE_SHARED_MODULE_SUFFIX ".so")
set(CMAKE_FIND_LIBRARY_PREFIXES "lib")
set(CMAKE_FIND_LIBRARY_SUFFIXES ".so" ".a")
set_property(GLOBAL PROPERTY TARGET_SUPPORTS_SHARED_LIBS TRUE)

foreach(lang C CXX)
  # Compile: position-independent (shared libraries are, by default), symbols visible (wasm's
  # default visibility is hidden, which would export nothing).
  set(CMAKE_${lang}_COMPILE_OPTIONS_PIC "-fPIC" "-fvisibility=default")
  set(CMAKE_SHARED_LIBRARY_${lang}_FLAGS "")
  set(CMAKE_SHARED_MODULE_${lang}_FLAGS "")
  # Link: a side module, as `wasm-dl flags lib` says. No libc or crt (main's libc serves every
  # library), undefined symbols imported, to be bound by wasm-dl at compose time. clang-19's
  # driver asks wasm-ld for entry `_initialize` with -shared: --no-entry undoes that, and then
  # the constructors' `__wasm_call_ctors`, which wasm-ld exports only without an entry option,
  # must be asked for.
  set(CMAKE_SHARED_LIBRARY_CREATE_${lang}_FLAGS
    "-shared -nostdlib -Wl,--no-entry -Wl,--export-if-defined=__wasm_call_ctors -Wl,--experimental-pic -Wl,--unresolved-symbols=import-dynamic")
  set(CMAKE_SHARED_MODULE_CREATE_${lang}_FLAGS "${CMAKE_SHARED_LIBRARY_CREATE_${lang}_FLAGS}")
  # wasm-ld 19 has no -soname and no rpath: a library is found by its file name.
  unset(CMAKE_SHARED_LIBRARY_SONAME_${lang}_FLAG)
  unset(CMAKE_SHARED_LIBRARY_RUNTIME_${lang}_FLAG)
  set(CMAKE_SHARED_LIBRARY_LINK_${lang}_FLAGS "")
  set(CMAKE_${lang}_LINK_OPTIONS_PIE "")
  set(CMAKE_${lang}_LINK_OPTIONS_NO_PIE "")
endforeach()
