;; An element segment at `i32.const -1` with two functions: slot numbers past 2^32 - 1.
(module
  (memory (export "memory") 2)
  (table (export "__indirect_function_table") 1 funcref)
  (global (export "__stack_pointer") (mut i32) (i32.const 65536))
  (func $malloc (export "malloc") (param i32) (result i32) i32.const 0)
  (func $free (export "free") (param i32))
  (func (export "_start"))
  (elem (i32.const -1) func $malloc $free))
