//! Golden tests: every template example from ESO's documentation, stored under
//! `tests/golden/*.yaml` as data + templates + expected output (or expected parse error),
//! each citing its source. Rendering must be byte-identical.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;

use secretsync_template::{Context, ParseOptions, Template};

#[derive(serde::Deserialize)]
struct Golden {
    #[serde(default)]
    data: BTreeMap<String, String>,
    /// Binary data read from files under tests/ (e.g. PKCS#12 fixtures).
    #[serde(default)]
    data_files: BTreeMap<String, String>,
    templates: BTreeMap<String, String>,
    #[serde(default)]
    expected: BTreeMap<String, String>,
    /// Expected output = concatenation of these files under tests/.
    #[serde(default)]
    expected_files: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    expected_errors: BTreeMap<String, String>,
}

#[test]
fn golden_files_render_byte_identically() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "golden files missing in {dir}");
    let mut checked = 0;
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with("# Source:") || text.starts_with("# Derived"),
            "{path:?} must cite its source"
        );
        let g: Golden = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let tests_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/");
        let mut ctx: Context = g
            .data
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str()))
            .collect();
        for (k, file) in &g.data_files {
            ctx.insert(
                k.clone(),
                std::fs::read(format!("{tests_dir}{file}")).unwrap(),
            );
        }
        let mut expected: BTreeMap<String, Vec<u8>> = g
            .expected
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        for (k, files) in &g.expected_files {
            let bytes = files
                .iter()
                .flat_map(|f| std::fs::read(format!("{tests_dir}{f}")).unwrap())
                .collect();
            expected.insert(k.clone(), bytes);
        }
        assert_eq!(
            g.templates.len(),
            expected.len() + g.expected_errors.len(),
            "{path:?}: every template needs an expectation"
        );
        for (key, src) in &g.templates {
            let result =
                Template::parse(key, src, &ParseOptions::default()).and_then(|t| t.render(&ctx));
            match (expected.get(key), g.expected_errors.get(key)) {
                (Some(want), None) => {
                    let got = result.unwrap_or_else(|e| panic!("{path:?} key {key}: {e}"));
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(want),
                        "{path:?} key {key}"
                    );
                    assert_eq!(&got, want, "{path:?} key {key}");
                }
                (None, Some(want_err)) => {
                    let err = result.expect_err("expected an error").to_string();
                    assert!(err.contains(want_err), "{path:?} key {key}: {err}");
                }
                _ => panic!("{path:?} key {key}: no expectation"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} golden templates checked");
}
