//! The committed header must equal the one build.rs generates.
//! Rewrite it with: HARDSTORE_BLESS=1 cargo test --test header

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/hardstore.h"));

#[test]
fn committed_header_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/hardstore.h");
    if std::env::var_os("HARDSTORE_BLESS").is_some() {
        std::fs::write(path, GENERATED).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == GENERATED,
        "include/hardstore.h is stale (or missing). Rewrite it with:\n\n    HARDSTORE_BLESS=1 cargo test --test header\n"
    );
}
