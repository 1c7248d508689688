//! `include/hushmark.h` is what cbindgen makes of `src/lib.rs` today: a
//! changed C API without a regenerated header fails here.
//! `HUSHMARK_WRITE_HEADER=1` rewrites the header instead.

use std::path::Path;

#[test]
fn header_matches_the_rust_api() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen understands src/lib.rs")
        .write(&mut generated);
    let path = dir.join("include/hushmark.h");
    if std::env::var_os("HUSHMARK_WRITE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("include/ is writable");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale; regenerate it with HUSHMARK_WRITE_HEADER=1 cargo test -p hushmark-capi --test header",
        path.display()
    );
}
