//! The `es` command line with the to-do events: `check` decodes every stored event through
//! their upcasters, `migrate` upcasts on the way, `import --check` decodes before writing.

fn main() -> std::process::ExitCode {
    es_cli::run::<todo::TodoEvent>()
}
