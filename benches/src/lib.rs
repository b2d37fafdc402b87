//! The benchmark harness: es-core's `FileStore` beside SQLite (WAL, `synchronous=FULL`), a raw
//! write + `fdatasync` loop, and bare `serde_json`, on the same events in the same run; and,
//! given a server, es-postgres's `PgStore` beside bare PostgreSQL (`COPY`, plain `INSERT`s, a
//! plain `SELECT`) through the same driver.
//!
//! `cargo bench -p es-benches` runs the full comparison; `--quick` runs every measurement on a
//! few thousand events, to keep the harness working (its figures mean nothing). The table is
//! printed once, at the end. See `BENCHMARKS.md`.

pub mod child;
pub mod domain;
pub mod http_load;
pub mod measure;
mod pg;
mod runs;
pub mod sqlite_log;
mod table;

use std::path::PathBuf;

pub use runs::Scale;

/// Runs the harness with the process's arguments: `--child ...` for a measurement in a fresh
/// process, otherwise the whole comparison (`--quick` for the small sizes, `--dir PATH` for
/// where the temporary stores go, `--postgres URL` for the PostgreSQL server, default
/// `DATABASE_URL`, `--postgres-only` to skip the other rows; `--bench`, passed by
/// `cargo bench`, is ignored). Without a server the PostgreSQL rows are skipped, and the
/// output says so.
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
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|at| args.get(at + 1))
    };
    let dir = value("--dir").map_or_else(std::env::temp_dir, PathBuf::from);
    let postgres = value("--postgres")
        .cloned()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .filter(|url| !url.is_empty());
    let postgres_only = args.iter().any(|a| a == "--postgres-only");
    let scale = if quick { Scale::quick() } else { Scale::full() };
    let http_scale = if quick {
        http_load::HttpScale::quick()
    } else {
        http_load::HttpScale::full()
    };
    // `--http-only`: just the service's rows (see `http_load`); `--postgres-only`: just the
    // PostgreSQL store's rows (see `pg`).
    let http_only = args.iter().any(|a| a == "--http-only");
    let mut rows = if http_only || postgres_only {
        Vec::new()
    } else {
        runs::all(&scale, &dir)
    };
    if !postgres_only {
        rows.extend(http_load::rows(http_scale, &dir));
    }
    if let Some(url) = postgres.as_ref().filter(|_| !http_only) {
        rows.extend(pg::rows(&scale, url));
    }
    println!();
    print!("{}", table::render(&rows));
    if postgres.is_none() {
        println!(
            "\nThe PostgreSQL rows were skipped: set DATABASE_URL or pass --postgres URL \
             (e.g. postgres://postgres@127.0.0.1:5432/test)."
        );
    }
}
