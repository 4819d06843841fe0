# Script (cmake -P) behind wasm_dl_compose: writes `wasm-dl flags main LIBS...` to OUT as a clang
# response file. Arguments: -DWASM_DL=<binary> -DOUT=<file> -DLIBS=<library files, ;-separated>.
execute_process(
  COMMAND "${WASM_DL}" flags main ${LIBS}
  OUTPUT_VARIABLE flags
  ERROR_VARIABLE err
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${err}")
endif()
# Written only when it changes, so that main is relinked only then.
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL flags)
  file(WRITE "${OUT}" "${flags}")
endif()
