;; A library that defines a tag of its own and exports it (a symbol, like a function): wasm-ld
;; exports a tag an object defines with `.tagtype`. `thrower_throw` throws it.
(module
  (@dylink.0 (mem-info))
  (import "env" "memory" (memory 0))
  (tag $oops (export "oops") (param i32))
  (func (export "thrower_throw") (param i32)
    local.get 0
    throw $oops))
