;; Imports `env.__cpp_exception` with an i32 payload (as LLVM declares it).
(module
  (@dylink.0 (mem-info))
  (import "env" "memory" (memory 0))
  (import "env" "__cpp_exception" (tag (param i32)))
  (func (export "a_f")))
