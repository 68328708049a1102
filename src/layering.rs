//! Dependencies point down only (`applets` → `core` → `wire`): a test that
//! reads the sources, so an import that points back up fails CI instead
//! of waiting for a reviewer. Comments may name any module.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(file, line)` of each line of code in module `src/DIR` (`DIR.rs` and
/// everything under `DIR/`) that holds one of `needles`.
fn uses(dir: &str, needles: &[&str]) -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src.join(dir), &mut files);
    let file = src.join(format!("{dir}.rs"));
    if file.exists() {
        files.push(file);
    }
    assert!(!files.is_empty(), "no sources for src/{dir}");
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            if needles.iter().any(|n| code.contains(n)) {
                found.push((f.clone(), line.trim().to_string()));
            }
        }
    }
    found
}

#[test]
fn core_and_wire_never_import_applets() {
    assert_eq!(uses("core", &["applets"]), []);
    assert_eq!(uses("wire", &["applets"]), []);
}

#[test]
fn wire_never_imports_core() {
    assert_eq!(uses("wire", &["crate::core", "super::core"]), []);
}

/// `create` drives the supervisor; the supervisor (recovery in
/// `persist`) rebuilds ad hoc services with `spec::spec_from`, not
/// through `create`.
#[test]
fn the_supervisor_does_not_import_create() {
    let found = uses("core/supervisor", &["core::create", "create::"]);
    assert_eq!(found, []);
}
