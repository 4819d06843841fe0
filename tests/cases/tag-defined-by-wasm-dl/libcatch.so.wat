;; Catches `__cpp_exception` thrown in libthrow: wasm-dl must give both imports one tag.
(module
  (@dylink.0 (mem-info) (needed "libthrow.so"))
  (import "env" "memory" (memory 0))
  (import "env" "throw_value" (func $throw (param i32)))
  (import "env" "__cpp_exception" (tag $exn (param i32)))
  ;; The payload times 2 when the throw is caught as `__cpp_exception`; -1 when nothing is thrown;
  ;; -2 when something else is (catch_all).
  (func (export "catch_value") (param i32) (result i32)
    (block $other
      (block $caught (result i32)
        (try_table (catch $exn $caught) (catch_all $other)
          local.get 0
          call $throw)
        i32.const -1
        return)
      i32.const 2
      i32.mul
      return)
    i32.const -2))
