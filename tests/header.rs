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

/// Every name the header gives C is under the ABI's prefix: a Rust constant or enum that
/// leaked (cbindgen exports them unless `cbindgen.toml` excludes them) would clash with
/// the including program's own names.
#[test]
fn every_name_in_the_header_has_the_prefix() {
    let mut leaked = Vec::new();
    for line in GENERATED.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let name = match words.as_slice() {
            ["#define", name, ..] => *name,
            ["typedef", "enum" | "struct", name, ..] => *name,
            // The end of a `typedef struct { ... } name;` or of an enum.
            ["}", name] if name.ends_with(';') => name.trim_end_matches(';'),
            _ => continue,
        };
        let name = name.trim_start_matches('*');
        if !(name.starts_with("HARDSTORE_") || name.starts_with("hardstore_")) {
            leaked.push(name.to_string());
        }
    }
    assert!(
        leaked.is_empty(),
        "names without the hardstore prefix in the header (exclude them in cbindgen.toml): {leaked:?}"
    );
}
