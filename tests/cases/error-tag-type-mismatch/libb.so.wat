;; Imports the same tag with an i64 payload: the two cannot be one tag.
(module
  (@dylink.0 (mem-info))
  (import "env" "memory" (memory 0))
  (import "env" "__cpp_exception" (tag (param i64)))
  (func (export "b_f")))
