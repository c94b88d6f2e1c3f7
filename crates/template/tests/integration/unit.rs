//! Unit tests for behaviour the Go reference cases cannot cover: ESO-only functions,
//! secret hygiene, delimiters, function availability, limits and the public API.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;

use secretsync_template::{Context, ErrorKind, ParseOptions, Template, Value, funcs};

const CANARY: &str = "CANARY-7f3a9c-do-not-leak";

fn ctx() -> Context {
    [
        ("secret", CANARY),
        ("user", "admin"),
        ("json", r#"{"a":1}"#),
        ("n", "12"),
    ]
    .into_iter()
    .collect()
}

fn render(src: &str) -> Result<String, secretsync_template::TemplateError> {
    Template::parse("key", src, &ParseOptions::default())?.render_string(&ctx())
}

#[test]
fn errors_never_contain_data_values() {
    let failing = [
        "{{ .secret.field }}",
        "{{ .secret | fail }}",
        "{{ fail .secret }}",
        "{{ fail (printf \"bad %s\" .secret) }}",
        "{{ index (list 1 2) (len .secret) }}",
        "{{ slice (list 1) (len .secret) }}",
        "{{ .secret | add1 | repeat }}",
        "{{ repeat .secret \"x\" }}",
        "{{ mustFromJson .secret }}",
        "{{ mustRegexMatch (printf \"[%s\" .secret) \"x\" }}",
        "{{ regexFind (printf \"(%s\" .secret) \"x\" }}",
        "{{ range .secret }}{{ end }}",
        "{{ len (index . \"nope\" | atoi) }}",
        "{{ eq .secret 1 }}",
        "{{ lt .secret (list) }}",
        "{{ upper (list .secret) }}",
        "{{ template \"x\" .secret }}",
        "{{ (dict \"k\" .secret).k.v }}",
        "{{ ternary .secret .secret .secret }}",
        "{{ div (len .secret) 0 }}",
        "{{ substr 99 100 .secret }}",
        "{{ dig \"a\" \"b\" .secret (dict \"a\" .secret) }}",
        "{{ chunk 0 (list .secret) }}",
        "{{ pkcs12key .secret }}",
        "{{ pkcs12certPass .secret .secret }}",
        "{{ filterPEM \"CERTIFICATE\" .secret }}",
        "{{ certSANs .secret }}",
        "{{ filterCertChain \"leaf\" .secret }}",
        "{{ mustToDate \"2006-01-02\" .secret }}",
        "{{ mustDateModify .secret now }}",
        "{{ dateModify \"1h\" .secret }}",
        "{{ semver .secret }}",
        "{{ semverCompare .secret \"1.0.0\" }}",
        "{{ semverCompare \"1.0.0\" .secret }}",
        "{{ urlParse (printf \"http://h:%s/\" .secret) }}",
        "{{ urlJoin (dict \"userinfo\" (printf \"%s x\" .secret)) }}",
        "{{ decryptAES .secret .secret }}",
        "{{ genCAWithKey .secret 1 .secret }}",
        "{{ genSignedCert .secret nil nil 1 (dict \"Cert\" .secret \"Key\" .secret) }}",
        "{{ genSelfSignedCert .secret (list .secret) nil 1 }}",
        "{{ buildCustomCert .secret .secret }}",
        "{{ pemToPkcs12 .secret .secret }}",
        "{{ fullPemToPkcs12Pass .secret .secret .secret }}",
        "{{ pemTruststoreToPKCS12Pass (printf \"-----BEGIN CERTIFICATE-----\\n%s\\n-----END CERTIFICATE-----\\n\" (b64enc .secret)) .secret }}",
        "{{ jwkPublicKeyPem .secret }}",
        "{{ jwkPrivateKeyPem (printf \"{\\\"kty\\\":\\\"%s\\\"}\" .secret) }}",
        "{{ rsaDecrypt .secret .secret .secret .secret }}",
        "{{ rsaDecrypt \"RSA-OAEP\" \"SHA1\" .secret .secret }}",
        "{{ derivePassword -1 \"long\" .secret .secret .secret }}",
    ];
    for t in failing {
        let err = render(t).expect_err(t);
        let text = format!("{err} {err:?}");
        assert!(!text.contains(CANARY), "template {t} leaked data: {text}");
        assert!(
            !text.contains("7f3a9c"),
            "template {t} leaked part of data: {text}"
        );
    }
}

#[test]
fn fail_with_literal_message_is_shown() {
    let err =
        render(r#"{{ if not .user }}{{ fail "user is required" }}{{ end }}{{ fail "stop here" }}"#)
            .unwrap_err();
    assert!(
        err.to_string().ends_with("error calling fail: stop here"),
        "{err}"
    );
    assert_eq!(err.kind, ErrorKind::Exec);
}

#[test]
fn debug_output_of_values_and_context_is_redacted() {
    let c = ctx();
    let d = format!("{c:?} {:?} {:?}", c.as_value(), Value::from(CANARY));
    assert!(!d.contains(CANARY), "{d}");
    assert!(d.contains("secret"), "keys may be shown: {d}");
}

#[test]
fn error_carries_name_line_column_and_expression() {
    let err = Template::parse(
        "tls.crt",
        "line1\n  {{ .missing }}",
        &ParseOptions::default(),
    )
    .unwrap()
    .render_string(&ctx())
    .unwrap_err();
    assert_eq!(err.name, "tls.crt");
    assert_eq!((err.line, err.col), (2, 6));
    assert_eq!(err.kind, ErrorKind::Exec);
    assert_eq!(
        err.to_string(),
        "template: tls.crt:2:6: executing \"tls.crt\" at <.missing>: map has no entry for key \"missing\""
    );
    let perr = Template::parse("k", "a\n{{ if }}", &ParseOptions::default()).unwrap_err();
    assert_eq!((perr.kind, perr.line), (ErrorKind::Parse, 2));
    assert_eq!(perr.to_string(), "template: k:2: missing value for if");
}

#[test]
fn unsupported_and_removed_functions_fail_at_parse_time() {
    for unsupported in funcs::UNSUPPORTED {
        let e = Template::parse(
            "k",
            &format!("{{{{ {unsupported} \"x\" 365 }}}}"),
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("template: k:1: function \"{unsupported}\" is not supported by secretsync")
        );
    }
    for removed in ["env", "expandenv", "getHostByName", "noSuchFunction"] {
        let e = Template::parse(
            "k",
            &format!("{{{{ {removed} \"x\" }}}}"),
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("template: k:1: function \"{removed}\" not defined")
        );
        assert!(!funcs::is_supported(removed) && !funcs::is_unsupported(removed));
    }
    // Not referenced → no error (Go only checks functions that are used).
    assert!(Template::parse("k", "{{/* env */}}x", &ParseOptions::default()).is_ok());
}

/// Every function ESO's `runtime/template/v2` registers (sprig v3.3.0 `TxtFuncMap` minus
/// env/expandenv, plus ESO's own) is either implemented or rejected with "not supported".
#[test]
fn every_eso_function_is_classified() {
    let sprig = "hello ago date date_in_zone date_modify dateInZone dateModify duration durationRound htmlDate \
        htmlDateInZone must_date_modify mustDateModify mustToDate now toDate unixEpoch abbrev abbrevboth trunc trim \
        upper lower title untitle substr repeat trimall trimAll trimSuffix trimPrefix nospace initials randAlphaNum \
        randAlpha randAscii randNumeric swapcase shuffle snakecase camelcase kebabcase wrap wrapWith contains \
        hasPrefix hasSuffix quote squote cat indent nindent replace plural sha1sum sha256sum sha512sum adler32sum \
        toString atoi int64 int float64 seq toDecimal split splitList splitn toStrings until untilStep add1 add sub \
        div mod mul randInt add1f addf subf divf mulf biggest max min maxf minf ceil floor round join sortAlpha \
        default empty coalesce all any compact mustCompact fromJson toJson toPrettyJson toRawJson mustFromJson \
        mustToJson mustToPrettyJson mustToRawJson ternary deepCopy mustDeepCopy typeOf typeIs typeIsLike kindOf \
        kindIs deepEqual base dir clean ext isAbs osBase osClean osDir osExt osIsAbs b64enc b64dec b32enc b32dec \
        tuple list dict get set unset hasKey pluck keys pick omit merge mergeOverwrite mustMerge mustMergeOverwrite \
        values append push mustAppend mustPush prepend mustPrepend first mustFirst rest mustRest last mustLast \
        initial mustInitial reverse mustReverse uniq mustUniq without mustWithout has mustHas slice mustSlice concat \
        dig chunk mustChunk bcrypt htpasswd genPrivateKey derivePassword buildCustomCert genCA genCAWithKey \
        genSelfSignedCert genSelfSignedCertWithKey genSignedCert genSignedCertWithKey encryptAES decryptAES \
        randBytes uuidv4 semver semverCompare fail regexMatch mustRegexMatch regexFindAll mustRegexFindAll regexFind \
        mustRegexFind regexReplaceAll mustRegexReplaceAll regexReplaceAllLiteral mustRegexReplaceAllLiteral \
        regexSplit mustRegexSplit regexQuoteMeta urlParse urlJoin";
    let eso = "pkcs12key pkcs12keyPass pkcs12cert pkcs12certPass pemToPkcs12 pemToPkcs12Pass fullPemToPkcs12 \
        fullPemToPkcs12Pass pemTruststoreToPKCS12 pemTruststoreToPKCS12Pass filterPEM filterCertChain certSANs \
        jwkPublicKeyPem jwkPrivateKeyPem toYaml fromYaml rsaDecrypt";
    let go =
        "and or not len index slice print printf println eq ne lt le gt ge call html js urlquery";
    for name in sprig
        .split_whitespace()
        .chain(eso.split_whitespace())
        .chain(go.split_whitespace())
    {
        assert!(
            funcs::is_supported(name) != funcs::is_unsupported(name),
            "{name}: supported={} unsupported={}",
            funcs::is_supported(name),
            funcs::is_unsupported(name)
        );
    }
    assert!(
        funcs::supported().len() > 150,
        "{}",
        funcs::supported().len()
    );
}

#[test]
fn custom_delimiters() {
    let opts = ParseOptions {
        left_delim: "<<".into(),
        right_delim: ">>".into(),
    };
    let t = Template::parse(
        "k",
        "{{ .user }} << .user >> <<- \" x \" ->> <</* c */>>!",
        &opts,
    )
    .unwrap();
    assert_eq!(t.render_string(&ctx()).unwrap(), "{{ .user }} admin x !");
    let opts = ParseOptions {
        left_delim: "[[".into(),
        right_delim: "]]".into(),
    };
    let t = Template::parse("k", "[[ range $k, $v := . ]][[ $k ]] [[ end ]]", &opts).unwrap();
    assert_eq!(t.render_string(&ctx()).unwrap(), "json n secret user ");
}

#[test]
fn to_yaml_follows_sigs_k8s_yaml() {
    let cases = [
        (
            r#"{{ toYaml (dict "b" "x" "a" (list 1 "two" (dict "k" true)) "c" (dict)) }}"#,
            "a:\n- 1\n- two\n- k: true\nb: x\nc: {}",
        ),
        (
            r#"{{ toYaml (list) }}|{{ toYaml (dict) }}|{{ toYaml nil }}|{{ toYaml "s" }}|{{ toYaml 1.5 }}"#,
            "[]|{}|null|s|1.5",
        ),
        (
            r##"{{ toYaml (dict "t" "true" "n" "123" "e" "" "colon" "a: b" "hash" "# x" "ml" "l1\nl2" "ml2" "l1\n" "sp" " lead" "q" "it's") }}"##,
            "colon: 'a: b'\ne: \"\"\nhash: '# x'\nml: |-\n  l1\n  l2\nml2: |\n  l1\n\"n\": \"123\"\nq: it's\nsp: ' lead'\nt: \"true\"",
        ),
        (
            r#"{{ toYaml (dict "a" (dict "b" (dict "c" (list (list 1 2))))) }}"#,
            "a:\n  b:\n    c:\n    - - 1\n      - 2",
        ),
        (r#"{{ .json | fromJson | toYaml }}"#, "a: 1"),
    ];
    for (t, want) in cases {
        assert_eq!(render(t).unwrap(), want, "{t}");
    }
}

#[test]
fn from_yaml_returns_map_or_error_entry() {
    assert_eq!(
        render("{{ (fromYaml \"a: 1\\nb: [x, y]\").b }}").unwrap(),
        "[x y]"
    );
    assert_eq!(render("{{ (fromYaml \"a: 1\").a }}").unwrap(), "1");
    assert_eq!(render("{{ fromYaml \"\" }}").unwrap(), "map[]");
    assert!(
        render("{{ (fromYaml \"a: [\").Error }}")
            .unwrap()
            .starts_with("error converting YAML to JSON")
    );
}

#[test]
fn context_is_a_string_map_like_eso() {
    assert_eq!(
        render("{{ index . \"nope\" }}|{{ typeOf . }}").unwrap(),
        "|map[string]string"
    );
    let e = render("{{ hasKey . \"user\" }}").unwrap_err();
    assert!(
        e.to_string().contains(
            "wrong type for value; expected map[string]interface {}; got map[string]string"
        ),
        "{e}"
    );
    let mut m = BTreeMap::new();
    m.insert(
        "list".to_string(),
        Value::list(vec![Value::from(1i64), Value::Nil]),
    );
    let t = Template::parse(
        "k",
        "{{ .list }} {{ index .list 1 }}",
        &ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(
        t.render_string(&Context::from_values(m)).unwrap(),
        "[1 <nil>] <no value>"
    );
}

#[test]
fn limits_turn_into_errors_not_crashes() {
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(Template::parse("k", &format!("{{{{ {deep} }}}}"), &ParseOptions::default()).is_err());
    let nested = "{{ if true }}".repeat(3000);
    assert!(Template::parse("k", &nested, &ParseOptions::default()).is_err());
    let e =
        render(r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#).unwrap_err();
    assert!(e.to_string().contains("maximum template depth"), "{e}");
    let e = render(r#"{{ range until 100000 }}{{ repeat 1000 "x" }}{{ end }}"#).unwrap_err();
    assert!(e.to_string().contains("output exceeds"), "{e}");
    assert!(render("{{ until 100000000 }}").is_err());
}

#[test]
fn template_is_reusable_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<Context>();
    let t = Template::parse(
        "k",
        "{{ .user | upper }}-{{ .n | atoi | add 1 }}",
        &ParseOptions::default(),
    )
    .unwrap();
    for _ in 0..3 {
        assert_eq!(t.render_string(&ctx()).unwrap(), "ADMIN-13");
    }
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || {
                let c: Context = [("user", format!("u{i}")), ("n", i.to_string())]
                    .into_iter()
                    .collect();
                t.render_string(&c).unwrap()
            })
        })
        .collect();
    let out: Vec<String> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(out, ["U0-1", "U1-2", "U2-3", "U3-4"]);
}

#[test]
fn random_functions_have_the_right_shape() {
    let out = render(
        "{{ randAlphaNum 16 }}|{{ randNumeric 8 }}|{{ uuidv4 }}|{{ randBytes 12 | b64dec | len }}",
    )
    .unwrap();
    let parts: Vec<&str> = out.split('|').collect();
    assert_eq!(parts[0].len(), 16);
    assert!(parts[0].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(parts[1].len() == 8 && parts[1].chars().all(|c| c.is_ascii_digit()));
    assert_eq!(parts[2].len(), 36);
    assert_eq!(parts[2].as_bytes()[14], b'4');
    assert_ne!(
        render("{{ randAlphaNum 32 }}").unwrap(),
        render("{{ randAlphaNum 32 }}").unwrap()
    );
}

#[test]
fn sha512_and_set_return_values() {
    assert_eq!(
        render("{{ sha512sum \"abc\" }}").unwrap(),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(
        render("{{ $d := dict \"a\" 1 }}{{ $d = set $d \"b\" 2 }}{{ $d }}").unwrap(),
        "map[a:1 b:2]"
    );
}

#[test]
fn value_printing_matches_go_fmt() {
    let v = Value::list(vec![
        Value::from(1.5),
        Value::from(1e6),
        Value::Nil,
        Value::from("s"),
        Value::Bool(true),
    ]);
    assert_eq!(v.to_go_string(), "[1.5 1e+06 <nil> s true]");
    assert_eq!(secretsync_template::format_float_g(0.0001), "0.0001");
    assert_eq!(secretsync_template::format_float_g(0.00001), "1e-05");
    assert_eq!(secretsync_template::format_float_g(-123456.0), "-123456");
}

#[test]
fn binary_values_are_carried_byte_exactly() {
    let binary: Vec<u8> = (0u8..=255).rev().collect();
    let mut c = Context::new();
    c.insert("bin", binary.clone());
    c.insert("b64", base64_of(&binary));
    let t = |src: &str| {
        Template::parse("k", src, &ParseOptions::default())
            .unwrap()
            .render(&c)
            .unwrap()
    };
    assert_eq!(t("{{ .bin }}"), binary);
    assert_eq!(t("{{ .b64 | b64dec }}"), binary);
    assert_eq!(t("{{ .bin | b64enc }}"), base64_of(&binary).into_bytes());
    assert_eq!(t("{{ len .bin }}"), b"256");
    assert_eq!(t("{{ .bin | trunc 3 }}"), &binary[..3]);
    assert_eq!(t("{{ printf \"%s\" .bin }}"), binary);
    assert_eq!(
        t("{{ .bin | sha256sum }}"),
        t("{{ .b64 | b64dec | sha256sum }}")
    );
    assert_eq!(t("{{ quote (.bin | trunc 2) }}"), b"\"\\xff\\xfe\"");
    let e = Template::parse("k", "{{ .bin }}", &ParseOptions::default())
        .unwrap()
        .render_string(&c)
        .unwrap_err();
    assert!(e.to_string().contains("not valid UTF-8"), "{e}");
}

fn base64_of(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn nested_loops_hit_the_step_budget() {
    // `until` allocates its list: the allocation limit stops this one first.
    let e =
        render("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}").unwrap_err();
    assert!(e.to_string().contains("limit of"), "{e}");
    // `range N` allocates nothing: the step limit stops it.
    let e = render("{{ range 100000 }}{{ range 100000 }}{{ end }}{{ end }}").unwrap_err();
    assert!(e.to_string().contains("evaluation steps"), "{e}");
}

/// docs/templates.md lists every function with the status the code implements.
#[test]
fn function_docs_match_the_implementation() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/templates.md"
    ))
    .unwrap();
    let mut listed = 0;
    let functions = &doc[doc.find("## Functions").unwrap()..];
    for line in functions.lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let Some((name, status)) = rest.split_once("` | ") else {
            continue;
        };
        let status = status.trim_end_matches(" |");
        let want = if funcs::REMOVED.contains(&name) {
            "removed for security"
        } else if funcs::is_supported(name) {
            "supported"
        } else if funcs::is_unsupported(name) {
            "not supported"
        } else {
            panic!("docs list unknown function {name}")
        };
        assert_eq!(status, want, "docs/templates.md status of {name}");
        listed += 1;
    }
    for name in funcs::supported()
        .into_iter()
        .chain(funcs::UNSUPPORTED.iter().copied())
    {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "docs/templates.md does not list {name}"
        );
    }
    assert!(listed > 200, "{listed}");
}

#[test]
fn bcrypt_and_htpasswd_produce_verifiable_hashes() {
    let out = render(r#"{{ bcrypt "hunter2" }}|{{ htpasswd "alice" "hunter2" "bcrypt" }}|{{ htpasswd "bob" "hunter2" "sha" }}|{{ htpasswd "a:b" "x" "sha" }}"#).unwrap();
    let parts: Vec<&str> = out.split('|').collect();
    assert!(
        parts[0].starts_with("$2a$10$") && parts[0].len() == 60,
        "{}",
        parts[0]
    );
    let hash = parts[1].strip_prefix("alice:").unwrap();
    assert!(hash.starts_with("$2a$10$"));
    assert!(bcrypt::verify("hunter2", hash).unwrap());
    // {SHA} = base64(sha1("hunter2")), as Apache htpasswd -s
    assert_eq!(parts[2], "bob:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=");
    assert_eq!(parts[3], "invalid username: a:b");
    // The htpasswd literal of ESO docs/snippets/template-v2-literal-example.yaml (random salts,
    // so it is verified here rather than as a golden file).
    let c: Context = [("user1", "password1"), ("user2", "password2")]
        .into_iter()
        .collect();
    let src = "{{- $creds := list }}\n{{- range $user, $pw := . }}\n  {{- $creds = append $creds (printf \"%s\" (htpasswd $user $pw \"bcrypt\")) }}\n{{- end }}\nauth: {{ $creds | join \"\\n\" | quote }}";
    let out = Template::parse("literal", src, &ParseOptions::default())
        .unwrap()
        .render_string(&c)
        .unwrap();
    let body = out
        .strip_prefix("\nauth: \"")
        .unwrap()
        .strip_suffix('"')
        .unwrap();
    let lines: Vec<&str> = body.split("\\n").collect();
    assert_eq!(lines.len(), 2);
    assert!(bcrypt::verify("password1", lines[0].strip_prefix("user1:").unwrap()).unwrap());
    assert!(bcrypt::verify("password2", lines[1].strip_prefix("user2:").unwrap()).unwrap());
}

/// Syntax newer than Debian's Go 1.19 reference (checked against Go ≥ 1.23 semantics).
#[test]
fn modern_go_syntax() {
    let c: Context = [("empty", ""), ("user", "admin")].into_iter().collect();
    let r = |src: &str| {
        Template::parse("k", src, &ParseOptions::default())
            .unwrap()
            .render_string(&c)
            .unwrap()
    };
    assert_eq!(
        r("{{ with .empty }}a{{ else with .user }}b{{ . }}{{ else }}c{{ end }}"),
        "badmin"
    );
    assert_eq!(
        r("{{ with .empty }}a{{ else with .empty }}b{{ else }}c{{ end }}"),
        "c"
    );
    assert_eq!(
        r("{{ range $i := 3 }}{{ $i }}{{ end }}|{{ range 0 }}x{{ else }}none{{ end }}"),
        "012|none"
    );
    assert_eq!(
        r("{{ range $i, $e := list \"a\" \"b\" }}{{ if $i }}{{ break }}{{ end }}{{ $e }}{{ end }}"),
        "a"
    );
}
