;; Throws C++'s tag as LLVM declares it: imported from `env` by every module, defined by none.
(module
  (@dylink.0 (mem-info))
  (import "env" "memory" (memory 0))
  (import "env" "__cpp_exception" (tag $exn (param i32)))
  (func (export "throw_value") (param i32)
    local.get 0
    throw $exn))
