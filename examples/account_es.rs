//! The `es` command line with the bank's events: every `es` command, plus `check`, which
//! decodes through the account upcasters, and a `migrate` that upcasts every event on the way.
//! Stores are directories or `postgres://` URLs:
//!
//! ```sh
//! cargo run --example account-es -- check bank-data
//! cargo run --example account-es -- migrate bank-data bank-data-v2
//! cargo run --example account-es -- migrate bank-data 'postgres://postgres@127.0.0.1:5432/test?schema=bank'
//! ```

fn main() -> std::process::ExitCode {
    es_cli::run::<es_examples::account::BankLogEvent>()
}
