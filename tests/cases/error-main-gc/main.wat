;; A main module using the GC proposal (a struct type).
(module
  (type $point (struct (field i32)))
  (memory (export "memory") 2)
  (table (export "__indirect_function_table") 1 funcref)
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "free") (param i32))
  (func (export "_start")))
