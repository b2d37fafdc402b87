//! The `es` binary: inspect, tail, verify, export, import and migrate an event log, in a
//! directory or a PostgreSQL schema.

fn main() -> std::process::ExitCode {
    es_cli::run_untyped()
}
