//! The `es` binary: inspect, tail, verify, export and import a file store directory.

fn main() -> std::process::ExitCode {
    es_cli::run_untyped()
}
