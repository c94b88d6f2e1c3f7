//! Property tests: no input panics the parser or executor, and rendering is deterministic
//! for templates without random or time functions.
#![allow(missing_docs, clippy::unwrap_used)]

use proptest::prelude::*;
use secretsync_template::{Context, ParseOptions, Template};

/// Template fragments that combine into valid and invalid templates alike.
const FRAGMENTS: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    "\n",
    ".",
    ".a",
    ".b.c",
    "$",
    "$x",
    ":=",
    "=",
    "|",
    "(",
    ")",
    "\"s\"",
    "`r`",
    "'c'",
    "1",
    "-2",
    "0x1F",
    "1.5e3",
    "true",
    "nil",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"t\"",
    ",",
    "/*",
    "*/",
    "and",
    "or",
    "not",
    "len",
    "index",
    "printf",
    "\"%v\"",
    "eq",
    "lt",
    "default",
    "upper",
    "b64enc",
    "b64dec",
    "toJson",
    "fromJson",
    "toYaml",
    "dict",
    "list",
    "keys",
    "join",
    "split",
    "trunc",
    "substr",
    "repeat",
    "regexReplaceAll",
    "\"a+\"",
    "quote",
    "indent",
    "add",
    "div",
    "mod",
    "until",
    "seq",
    "slice",
    "first",
    "dig",
    "merge",
    "coalesce",
    "ternary",
    "sha256sum",
    "x",
    "é",
    "}",
];

const DETERMINISTIC: &[&str] = &[
    "{{ .a }}",
    "{{ .a | upper }}",
    "{{ .b | b64enc }}",
    "{{ range $k, $v := . }}{{ $k }}={{ $v | quote }};{{ end }}",
    "{{ if .a }}x{{ else }}y{{ end }}",
    "{{ printf \"%s-%d-%v\" .a (len .b) (list .a .b) }}",
    "{{ toJson . }}",
    "{{ toYaml (dict \"a\" .a \"b\" (splitList \",\" .b)) }}",
    "{{ .a | sha256sum | trunc 8 }}",
    "{{- with .b }}[{{ . | nospace }}]{{ end -}}",
    "{{ regexReplaceAll \"[aeiou]\" .a \"_\" }}",
    "{{ (fromJson (toJson (dict \"k\" .a))).k }}",
    "{{ define \"t\" }}<{{ . }}>{{ end }}{{ template \"t\" .b }}",
];

fn ctx(a: &str, b: &str) -> Context {
    [("a", a), ("b", b)].into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(src in ".{0,200}", a in ".{0,40}") {
        if let Ok(t) = Template::parse("p", &src, &ParseOptions::default()) {
            let _ = t.render_string(&ctx(&a, "b"));
        }
    }

    #[test]
    fn fragment_soup_never_panics(parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..40), a in ".{0,20}") {
        let src: String = parts.iter().map(|i| FRAGMENTS[*i]).collect::<Vec<_>>().join(" ");
        if let Ok(t) = Template::parse("p", &src, &ParseOptions::default()) {
            let _ = t.render_string(&ctx(&a, "1,2"));
        }
        let tight: String = parts.iter().map(|i| FRAGMENTS[*i]).collect();
        if let Ok(t) = Template::parse("p", &tight, &ParseOptions::default()) {
            let _ = t.render_string(&ctx(&a, "1,2"));
        }
    }

    #[test]
    fn rendering_is_deterministic(idx in 0..DETERMINISTIC.len(), a in ".{0,40}", b in ".{0,40}") {
        let t = Template::parse("p", DETERMINISTIC[idx], &ParseOptions::default()).unwrap();
        let c = ctx(&a, &b);
        let first = t.render_string(&c);
        let second = t.render_string(&c);
        let reparsed = Template::parse("p", DETERMINISTIC[idx], &ParseOptions::default()).unwrap().render_string(&c);
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(&first, &reparsed);
    }

    #[test]
    fn plain_text_renders_verbatim(text in "[^{}]{0,100}") {
        let t = Template::parse("p", &text, &ParseOptions::default()).unwrap();
        prop_assert_eq!(t.render_string(&Context::new()).unwrap(), text);
    }

    #[test]
    fn values_round_trip_through_actions(a in ".{0,60}") {
        let t = Template::parse("p", "{{ .a }}|{{ .a | b64enc | b64dec }}|{{ .a | toJson | fromJson }}", &ParseOptions::default()).unwrap();
        prop_assert_eq!(t.render_string(&ctx(&a, "")).unwrap(), format!("{a}|{a}|{a}"));
    }
}
