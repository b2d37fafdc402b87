//! The benchmark harness as a program: `cargo run --release -p es-benches` (add `-- --quick`
//! for the small sizes).

fn main() {
    es_benches::run();
}
