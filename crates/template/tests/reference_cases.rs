//! Replays `tests/cases/reference.json`: outputs and errors recorded from the Go reference
//! renderer (Go text/template + sprig v3, configured like ESO). Regenerate with
//! `python3 crates/template/tests/reference/cases.py`.
#![allow(missing_docs, clippy::unwrap_used)]

use secretsync_template::{Context, ParseOptions, Template};

/// Cases where Debian's Go 1.19 differs from the Go release ESO is built with (≥ 1.22),
/// or where secretsync deliberately differs. Each maps template → expected output.
const MODERN_GO_OVERRIDES: &[(&str, &str)] = &[
    // Go 1.22 added range over integers.
    ("{{ range 3 }}{{ . }}{{ end }}", "012"),
    // Known difference (docs/templates.md): secretsync has one list type, so `typeOf`
    // reports `[]interface {}` where Go reports `[]string` (splitList, keys, regexFindAll...).
    (
        "{{ typeOf nil }} {{ kindOf nil }} {{ typeOf (splitList \",\" \"a\") }} {{ typeOf (split \",\" \"a\") }} {{ typeOf (fromJson \"1\") }} {{ typeOf (atoi \"1\") }}",
        "<nil> invalid []interface {} map[string]string float64 int",
    ),
];

#[derive(serde::Deserialize)]
struct Case {
    template: String,
    output: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct File {
    data: std::collections::BTreeMap<String, String>,
    cases: Vec<Case>,
}

fn render(t: &str, ctx: &Context) -> Result<String, String> {
    Template::parse("t", t, &ParseOptions::default())
        .and_then(|t| t.render(ctx))
        .map_err(|e| e.to_string())
}

#[test]
fn matches_go_reference() {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/cases/reference.json"
    ))
    .unwrap();
    let file: File = serde_json::from_str(&raw).unwrap();
    let ctx: Context = file
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str()))
        .collect();
    let mut failures = Vec::new();
    for c in &file.cases {
        let got = render(&c.template, &ctx);
        if let Some((_, want)) = MODERN_GO_OVERRIDES.iter().find(|(t, _)| *t == c.template) {
            if got.as_deref() != Ok(*want) {
                failures.push(format!(
                    "{:?}\n  want (modern Go) {:?}\n  got  {:?}",
                    c.template, want, got
                ));
            }
            continue;
        }
        match (&c.output, &c.error, &got) {
            (Some(want), _, Ok(g)) if g == want => {}
            (None, Some(_), Err(_)) => {}
            _ => failures.push(format!(
                "{:?}\n  want {:?}\n  got  {:?}",
                c.template,
                c.output
                    .as_ref()
                    .map_or_else(|| format!("error {:?}", c.error), |o| o.clone()),
                got
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        failures.len(),
        file.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn error_messages_match_go_shape() {
    // Errors must be Go-shaped: same kind of failure, same "template: t:" prefix.
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/cases/reference.json"
    ))
    .unwrap();
    let file: File = serde_json::from_str(&raw).unwrap();
    let ctx: Context = file
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str()))
        .collect();
    for c in file.cases.iter().filter(|c| c.error.is_some()) {
        if let Err(e) = render(&c.template, &ctx) {
            assert!(e.starts_with("template: t:"), "{e}");
        }
    }
}
