//! `urlParse` / `urlJoin` against Go's net/url: fixtures/url-vectors.json was printed by
//! tests/reference/gen_url_vectors.go (Go 1.19 stdlib).
#![allow(missing_docs, clippy::unwrap_used)]

use secretsync_template::{Context, ParseOptions, Template};

fn render(src: &str, ctx: &Context) -> Result<String, secretsync_template::TemplateError> {
    Template::parse("key", src, &ParseOptions::default())?.render_string(ctx)
}

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/url-vectors.json")).unwrap()
}

#[test]
fn url_parse_matches_go() {
    let v = vectors();
    let rows = v["parse"].as_array().unwrap();
    assert!(rows.len() >= 15);
    for row in rows {
        let input = row["in"].as_str().unwrap();
        let mut ctx = Context::new();
        ctx.insert("u", input);
        let got = render("{{ urlParse .u | toJson }}", &ctx);
        if row["err"].as_bool() == Some(true) {
            assert!(got.is_err(), "{input}: expected an error");
            continue;
        }
        let got: serde_json::Value = serde_json::from_str(&got.unwrap()).unwrap();
        assert_eq!(got, row["out"], "{input}");
    }
}

#[test]
fn url_join_matches_go() {
    let v = vectors();
    for row in v["join"].as_array().unwrap() {
        let mut ctx = Context::new();
        ctx.insert("d", row["in"].to_string());
        let got = render("{{ .d | fromJson | urlJoin }}", &ctx).unwrap();
        assert_eq!(got, row["out"].as_str().unwrap(), "{}", row["in"]);
    }
}

#[test]
fn url_docs_examples_and_errors() {
    let ctx = Context::new();
    // sprig docs/url.md examples
    assert_eq!(
        render(
            r#"{{ (urlParse "proto://host:80/path?a=b#frag").hostname }}"#,
            &ctx
        )
        .unwrap(),
        "host"
    );
    assert_eq!(
        render(
            r#"{{ urlJoin (dict "fragment" "fragment" "host" "host:80" "path" "/path" "query" "query" "scheme" "proto") }}"#,
            &ctx
        )
        .unwrap(),
        "proto://host:80/path?query#fragment"
    );
    // a non-string value panics in Go; an error here
    assert!(render(r#"{{ urlJoin (dict "host" 1) }}"#, &ctx).is_err());
}
