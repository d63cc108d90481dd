//! Compile-fail checks of `#[derive(Trace)]` and of the std impls it relies
//! on. The expected errors are in `tests/ui/derive_*.stderr`; regenerate them
//! with `TRYBUILD=overwrite cargo test -p tricolor-tests-ui --test derive_ui` and review the diff.

#[test]
fn derive_compile_failures() {
    trybuild::TestCases::new().compile_fail("tests/ui/derive_*.rs");
}
