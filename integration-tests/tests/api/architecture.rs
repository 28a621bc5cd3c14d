//! The layering of issue 11, checked: `api` renders HTTP over the use cases of `infra` and
//! never talks to the database itself — no Diesel, no r2d2, neither as a dependency nor in its
//! code.

use std::path::Path;

use serde_json::Value;
use zhijian_integration_tests::database::repo_root;

/// The crates `api` must not depend on directly.
const FORBIDDEN_CRATES: [&str; 4] = ["diesel", "diesel_migrations", "r2d2", "diesel-async"];

/// What `api/src` must not mention.
const FORBIDDEN_PATHS: [&str; 4] = ["diesel::", "r2d2::", "use diesel", "use r2d2"];

#[test]
fn api_does_not_depend_on_diesel_or_r2d2() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let api = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "zhijian-api")
        .expect("the workspace has zhijian-api");
    let dependencies: Vec<&str> = api["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert!(dependencies.contains(&"zhijian-infra"), "{dependencies:?}");
    let forbidden: Vec<&&str> = dependencies
        .iter()
        .filter(|d| FORBIDDEN_CRATES.contains(d))
        .collect();
    assert!(
        forbidden.is_empty(),
        "api/Cargo.toml lists {forbidden:?}: the database belongs to infra (issue 11)"
    );
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn api_code_never_names_diesel_or_r2d2() {
    let mut files = Vec::new();
    rust_files(&repo_root().join("api/src"), &mut files);
    assert!(files.len() > 10, "api/src has its modules");
    let mut mentions = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if FORBIDDEN_PATHS.iter().any(|p| line.contains(p)) {
                mentions.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        mentions.is_empty(),
        "api must reach the database only through infra's use cases:\n  {}",
        mentions.join("\n  ")
    );
}
