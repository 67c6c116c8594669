//! The contract travels with the code: `events.md` in this crate is the event and alert
//! contract, kept equal to the copy the feeding systems share when that copy is beside the
//! repository (at `../shared/spec/events.md` from the repository root).

#[test]
fn the_contract_in_the_repository_equals_the_shared_one() {
    let crate_dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let ours = std::fs::read_to_string(crate_dir.join("events.md")).expect("events.md is here");
    assert!(
        ours.starts_with("# Event contract"),
        "events.md is the contract"
    );
    let shared = crate_dir.join("../../../shared/spec/events.md");
    match std::fs::read_to_string(&shared) {
        Ok(theirs) => assert!(
            ours == theirs,
            "crates/pumpwatch-model/events.md differs from {}: copy the shared contract",
            shared.display()
        ),
        Err(_) => eprintln!("no shared contract beside the repository; nothing to compare"),
    }
}
