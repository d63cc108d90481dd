//! Compile-fail tests for the API's soundness claims: each file in
//! tests/ui/api_*.rs must be rejected by the compiler, with the error its
//! .stderr records.

#[test]
fn api_misuse_does_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui/api_*.rs");
}
