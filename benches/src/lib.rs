//! The benchmark harness: es-core's `FileStore` beside SQLite (WAL, `synchronous=FULL`), a raw
//! write + `fdatasync` loop, and bare `serde_json`, on the same events in the same run.
//!
//! `cargo bench -p es-benches` runs the full comparison; `--quick` runs every measurement on a
//! few thousand events, to keep the harness working (its figures mean nothing). The table is
//! printed once, at the end. See `BENCHMARKS.md`.

pub mod child;
pub mod domain;
pub mod http_load;
pub mod measure;
mod runs;
pub mod sqlite_log;
mod table;

use std::path::PathBuf;

pub use runs::Scale;

/// Runs the harness with the process's arguments: `--child ...` for a measurement in a fresh
/// process, otherwise the whole comparison (`--quick` for the small sizes, `--dir PATH` for
/// where the temporary stores go; `--bench`, passed by `cargo bench`, is ignored).
///
/// # Panics
/// When a store or the file system fails: the harness reports no figure it did not measure.
pub fn run() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        child::run(&args[at + 1..]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|at| args.get(at + 1))
        .map_or_else(std::env::temp_dir, PathBuf::from);
    let scale = if quick { Scale::quick() } else { Scale::full() };
    let http_scale = if quick {
        http_load::HttpScale::quick()
    } else {
        http_load::HttpScale::full()
    };
    // `--http-only`: just the service's rows (see `http_load`).
    let mut rows = if args.iter().any(|a| a == "--http-only") {
        Vec::new()
    } else {
        runs::all(&scale, &dir)
    };
    rows.extend(http_load::rows(http_scale, &dir));
    println!();
    print!("{}", table::render(&rows));
}
