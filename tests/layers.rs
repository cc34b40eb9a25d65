//! The core has no HTTP in it: no file below the API layer names actix or
//! utoipa, or reaches up into the API layer or the server. CI runs this with
//! the rest of the tests, so a leak fails the build.

use std::path::{Path, PathBuf};

/// The core: everything a new surface builds on.
const CORE: [&str; 10] = [
    "src/domain",
    "src/engine",
    "src/db",
    "src/service",
    "src/error.rs",
    "src/tokens.rs",
    "src/observe.rs",
    "src/config.rs",
    "src/feed.rs",
    "src/webhooks",
];
/// What the core must not name.
const FORBIDDEN: [&str; 5] = ["actix", "utoipa", "crate::api", "crate::startup", "HttpResponse"];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("readable source directory") {
            rust_files(&entry.expect("directory entry").path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

#[test]
fn the_core_names_no_http_framework_and_no_surface() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for part in CORE {
        let path = root.join(part);
        assert!(path.exists(), "{part} exists (update CORE when the layout changes)");
        rust_files(&path, &mut files);
    }
    assert!(files.len() > 20, "the core has its files: {files:?}");
    let mut leaks = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for word in FORBIDDEN {
                if line.contains(word) {
                    leaks.push(format!("{}:{}: {word}: {}", file.strip_prefix(root).unwrap().display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "HTTP below the API layer:\n{}", leaks.join("\n"));
}
