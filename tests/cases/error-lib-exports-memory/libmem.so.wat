;; A "shared library" that defines and exports its own memory: not what wasm-ld -shared emits.
(module
  (@dylink.0 (mem-info (memory 16 2)))
  (memory (export "memory") 1))
