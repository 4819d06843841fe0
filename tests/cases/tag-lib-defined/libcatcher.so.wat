;; Imports the tag by name and catches what libthrower throws: both must name one tag instance.
(module
  (@dylink.0 (mem-info) (needed "libthrower.so"))
  (import "env" "memory" (memory 0))
  (import "env" "thrower_throw" (func $throw (param i32)))
  (import "env" "oops" (tag $oops (param i32)))
  ;; Returns the payload + 1 if libthrower's throw is caught as `oops`, -1 if nothing is thrown.
  (func (export "catcher_try") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $oops $caught)
        local.get 0
        call $throw)
      i32.const -1
      return)
    i32.const 1
    i32.add))
