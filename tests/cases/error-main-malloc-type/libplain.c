/* Any library: with one, wasm-dl calls main's `malloc`. */
int plain(void) { return 1; }
