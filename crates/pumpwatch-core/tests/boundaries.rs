//! The architecture's boundary, enforced: the engine crate must not reach IO, async runtimes,
//! Kafka, dataframes or metrics, directly or through any dependency.

use std::collections::{BTreeMap, BTreeSet};

const FORBIDDEN: [&str; 6] = [
    "tokio",
    "rdkafka",
    "polars",
    "prometheus",
    "axum",
    "rusqlite",
];

#[test]
fn core_has_no_io_dependencies() {
    let lock_path = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
        .join("../../Cargo.lock");
    let lock: toml::Value = toml::from_str(&std::fs::read_to_string(lock_path).unwrap()).unwrap();
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in lock["package"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().to_string();
        let deps = package
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|d| {
                // Entries are "name" or "name version" when several versions exist.
                d.iter()
                    .map(|v| v.as_str().unwrap().split(' ').next().unwrap().to_string())
                    .collect::<Vec<_>>()
            });
        graph
            .entry(name)
            .or_default()
            .extend(deps.unwrap_or_default());
    }
    // Cargo.lock lists normal and dev dependencies together; walk only the normal ones, which
    // the manifest names.
    let manifest: toml::Value = toml::from_str(
        &std::fs::read_to_string(
            std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
                .join("Cargo.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut todo: Vec<String> = manifest["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        assert!(
            !FORBIDDEN.contains(&name.as_str()),
            "pumpwatch-core depends on {name}"
        );
        if seen.insert(name.clone()) {
            todo.extend(graph.get(&name).cloned().unwrap_or_default());
        }
    }
    assert!(
        seen.contains("pumpwatch-model"),
        "the walk found the core's own dependencies"
    );
}
