//! The `es` command line with the bank's events: every `es` command, plus `check` and
//! `migrate`, which decode through the account upcasters.
//!
//! ```sh
//! cargo run --example account-es -- check bank-data
//! cargo run --example account-es -- migrate bank-data bank-data-v2
//! ```

fn main() -> std::process::ExitCode {
    es_cli::run::<es_examples::account::BankLogEvent>()
}
