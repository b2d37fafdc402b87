//! Mistakes in `#[derive(Event)]` are compile errors pointing at the token to fix.
//! One mistake per file under `ui/<kind>/` (`several_errors/` shows every error of one item
//! reported by one compile); regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p es-tests --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*/*.rs");
}
