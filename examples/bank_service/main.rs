//! The bank as an HTTP JSON service over its `Repository`, for one or many instances.
//!
//! ```sh
//! cargo run --example bank-service -- --listen 127.0.0.1:8080                 # file store in bank-service-data/
//! cargo run --example bank-service -- --listen 127.0.0.1:8081 --store postgres://postgres@127.0.0.1:5432/test
//! ```
//!
//! The code lives in `es_examples::bank_service`, so tests can run it in their own processes.

fn main() {
    if let Err(e) = es_examples::bank_service::run(std::env::args().skip(1)) {
        eprintln!("bank-service: {e}");
        std::process::exit(2);
    }
}
