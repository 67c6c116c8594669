//! The alert feed's JSON Schema: the committed file is what the types generate, and real
//! alerts (the scenario goldens) are valid against it while broken ones are not.

use pumpwatch_model::Alert;

fn committed() -> serde_json::Value {
    let path = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
        .join("alert.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let generated = Alert::json_schema();
    if std::env::var_os("PUMPWATCH_WRITE_SCHEMA").is_some() {
        let path = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
            .join("alert.schema.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    assert_eq!(
        committed(),
        generated,
        "alert.schema.json is stale: regenerate it with PUMPWATCH_WRITE_SCHEMA=1 cargo test -p pumpwatch-model --test alert_schema"
    );
}

#[test]
fn golden_alerts_are_valid_and_broken_ones_are_not() {
    let validator = jsonschema::validator_for(&committed()).unwrap();
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
        .join("../../fixtures/scenarios");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".expected.ndjson") {
            continue;
        }
        for line in std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
        {
            let alert: serde_json::Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&alert)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            checked += 1;

            let mut broken = alert.clone();
            broken["severity"] = "catastrophic".into();
            assert!(!validator.is_valid(&broken));
            let mut broken = alert.clone();
            broken["score"] = 101.into();
            assert!(!validator.is_valid(&broken));
            let mut broken = alert.clone();
            broken.as_object_mut().unwrap().remove("alert_id");
            assert!(!validator.is_valid(&broken));
            let mut broken = alert;
            broken["evidence"][0]["price"] = "112".into();
            assert!(!validator.is_valid(&broken), "a price is a JSON number");
        }
    }
    assert!(checked >= 4, "{checked} golden alerts");
}
