//! Tests never inherit the developer's configuration: a `CMCONFORM_BASE_URL` exported in the
//! shell that runs `cargo test` must not aim any test's PUTs at a real deployment. Every test
//! that runs the binary goes through `common::cmconform`; this proves that runner drops it.
//! (Its own test binary: it changes this process's environment.)

mod common;

use std::process::Output;

const PLANTED: &str = "http://127.0.0.1:9/planted-by-the-developer";

fn shown(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn an_exported_base_url_does_not_reach_the_binary() {
    // SAFETY: this test binary holds this one test, so no other thread reads the environment.
    unsafe { std::env::set_var("CMCONFORM_BASE_URL", PLANTED) };
    let args = [
        "run",
        "--dry-run",
        "--no-lifecycle",
        "--race-rounds",
        "0",
        "--filter",
        "complete-from-approved",
    ];

    // Without the shared runner the variable does reach the binary: the check below can fail.
    let naive = std::process::Command::new(env!("CARGO_BIN_EXE_cmconform"))
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(shown(&naive).contains(PLANTED), "{}", shown(&naive));

    let isolated = common::cmconform(args).output().expect("the binary runs");
    assert_eq!(isolated.status.code(), Some(0), "{}", shown(&isolated));
    assert!(!shown(&isolated).contains(PLANTED), "{}", shown(&isolated));
    assert!(
        shown(&isolated).contains("127.0.0.1:PORT"),
        "{}",
        shown(&isolated)
    );
}
