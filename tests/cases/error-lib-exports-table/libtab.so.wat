;; A "shared library" that defines and exports its own function table: not what wasm-ld -shared
;; emits (a side module imports main's `__indirect_function_table`).
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (table (export "__indirect_function_table") 1 funcref))
