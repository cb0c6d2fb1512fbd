//! Helpers shared by the end-to-end tests.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use flow_core::Scenario;
use flow_core::generate::{GenerateOptions, Size, generate};

/// The `flowd` binary built beside this test executable.
pub fn flowd_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/tests-<hash> → target/<profile>/flowd
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target directory");
    let bin = dir.join(format!("flowd{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --workspace` before `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// Runs `flowd args…` with `stdin` and returns its output.
pub fn flowd(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(flowd_path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn flowd");
    if let Some(mut input) = child.stdin.take() {
        // The process may exit before reading everything; a broken pipe is fine.
        let _ = input.write_all(stdin);
    }
    child.wait_with_output().expect("wait for flowd")
}

/// Standard output and error of `out` as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A generated scenario of `size`.
pub fn scenario(size: Size, seed: u64) -> Scenario {
    generate(&GenerateOptions::new(size, seed))
}

/// A temporary folder holding `scenario.json` for `scenario`.
pub fn scenario_file(scenario: &Scenario) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scenario.json");
    std::fs::write(&path, serde_json::to_vec_pretty(scenario).expect("json")).expect("write");
    let path = path.to_string_lossy().into_owned();
    (dir, path)
}
