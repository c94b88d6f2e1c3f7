//! Fails when `deploy/crds/` does not match the CRDs generated from the Rust types.
//! Regenerate with `cargo run -p secretsync-cli -- crds --out deploy/crds`.

use std::path::PathBuf;

use secretsync_model::crd;

fn crd_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")
}

#[test]
fn committed_crds_match_generated() {
    let dir = crd_dir();
    let mut expected_files = Vec::new();
    for c in crd::all() {
        let name = crd::file_name(&c);
        let path = dir.join(&name);
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}); run `cargo run -p secretsync-cli -- crds --out deploy/crds`",
                path.display()
            )
        });
        assert!(
            committed == crd::to_yaml(&c),
            "{} is stale; run `cargo run -p secretsync-cli -- crds --out deploy/crds`",
            path.display()
        );
        assert!(
            committed.len() < crd::CLIENT_SIDE_APPLY_LIMIT,
            "{name} is too large for client-side apply"
        );
        expected_files.push(name);
    }
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .expect("deploy/crds exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    present.sort();
    expected_files.sort();
    assert_eq!(
        present, expected_files,
        "deploy/crds holds files the generator does not produce"
    );
}
