//! TEMPORARY timeline marks (never commit).
use std::sync::OnceLock;
use std::time::Instant;
static START: OnceLock<Instant> = OnceLock::new();
static ON: OnceLock<bool> = OnceLock::new();
pub fn mark(what: &str) {
    if !*ON.get_or_init(|| std::env::var_os("WASM_DL_TRACE").is_some()) {
        return;
    }
    let t = START.get_or_init(Instant::now).elapsed();
    let tid = unsafe { libc_gettid() };
    eprintln!("{:8.2} {:>7} {what}", t.as_secs_f64() * 1000.0, tid);
}
extern "C" {
    #[link_name = "gettid"]
    fn libc_gettid() -> i32;
}
