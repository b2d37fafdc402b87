//! Helpers shared by the tests that run a copy of their own test binary as a child process.

use std::path::Path;
use std::process::Command;

/// A command running only the test `test` of this test binary, with `env` set to `value`: the
/// test sees the variable and plays the child's part.
pub fn child_test_command(test: &str, env: &str, value: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(env, value);
    command
}
