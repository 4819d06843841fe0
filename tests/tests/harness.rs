//! Checks of the test harness itself, independent of the composer: clang-19 + sysroot build a plain C
//! command, wit-component + the wasip1 command adapter make it a component, and the runner runs it.

use wasm_dl_tests::run::{componentize_command, run};
use wasm_dl_tests::{build_main_with_flags, CSource};

const HELLO: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int counter = 41;
__attribute__((constructor)) static void bump(void) { counter++; }
int main(int argc, char **argv) {
  printf("hello from C, argc=%d\n", argc);
  for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  const char *v = getenv("WASM_DL_TEST");
  printf("env WASM_DL_TEST=%s\n", v ? v : "(unset)");
  printf("constructor ran: %s\n", counter == 42 ? "yes" : "no");
  fprintf(stderr, "to stderr\n");
  if (argc > 1 && strcmp(argv[1], "exit") == 0) exit(atoi(argv[2]));
  return 0;
}
"#;

fn hello_component() -> Vec<u8> {
    let main = build_main_with_flags(&[CSource::inline("hello.c", HELLO)], &[]).unwrap();
    componentize_command(&main).unwrap()
}

#[test]
fn harness_runs_plain_c_component() {
    let out = run(
        &hello_component(),
        &["hello.wasm", "a b"],
        &[("WASM_DL_TEST", "yes")],
    )
    .unwrap();
    assert_eq!(
        out.stdout_str(),
        "hello from C, argc=2\narg 1: a b\nenv WASM_DL_TEST=yes\nconstructor ran: yes\n"
    );
    assert_eq!(out.stderr_str(), "to stderr\n");
    assert_eq!(out.code, 0);
}

/// `exit(n)` ends the run with an exit code, not a trap. The wasip1 command adapter (48.x) maps
/// `proc_exit(n)` to `wasi:cli/exit.exit(err)` for every n != 0, so the component's code is 0 or 1.
#[test]
fn harness_reports_exit_code() {
    let component = hello_component();
    let out = run(&component, &["hello.wasm", "exit", "7"], &[]).unwrap();
    assert_eq!(out.code, 1, "stdout: {}", out.stdout_str());
    assert!(out.stdout_str().starts_with("hello from C, argc=3\n"));
    let out = run(&component, &["hello.wasm", "exit", "0"], &[]).unwrap();
    assert_eq!(out.code, 0, "stdout: {}", out.stdout_str());
}
