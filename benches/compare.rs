//! The benchmark harness under `cargo bench -p es-benches` (add `-- --quick` for the small
//! sizes).

fn main() {
    es_benches::run();
}
