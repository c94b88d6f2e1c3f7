//! `jwkPublicKeyPem`, `jwkPrivateKeyPem` and `rsaDecrypt` against Go: the vectors in
//! fixtures/jwk-vectors.json were made by tests/reference/gen_jwk_vectors.go with Go's
//! crypto/x509 (MarshalPKIXPublicKey / MarshalPKCS8PrivateKey, what ESO's jwk.go returns)
//! and rsa.EncryptOAEP (what ESO's decrypt.go reverses).
#![allow(missing_docs, clippy::unwrap_used)]

use secretsync_template::{Context, ParseOptions, Template};

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/jwk-vectors.json")).unwrap()
}

fn render(src: &str, ctx: &Context) -> Result<String, secretsync_template::TemplateError> {
    Template::parse("key", src, &ParseOptions::default())?.render_string(ctx)
}

#[test]
fn jwk_to_pem_matches_go_x509() {
    let v = vectors();
    let mut checked = 0;
    for case in v["jwk"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut ctx = Context::new();
        ctx.insert("jwk", case["jwk"].as_str().unwrap());
        if let Some(want) = case["public"].as_str() {
            assert_eq!(
                render("{{ .jwk | jwkPublicKeyPem }}", &ctx).unwrap(),
                want,
                "{name}"
            );
            // a public JWK has no private key
            assert!(
                render("{{ .jwk | jwkPrivateKeyPem }}", &ctx).is_err(),
                "{name}"
            );
        }
        if let Some(want) = case["private"].as_str() {
            assert_eq!(
                render("{{ .jwk | jwkPrivateKeyPem }}", &ctx).unwrap(),
                want,
                "{name}"
            );
            // ESO: MarshalPKIXPublicKey of a private key fails
            assert!(
                render("{{ .jwk | jwkPublicKeyPem }}", &ctx).is_err(),
                "{name}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn jwk_errors() {
    let mut ctx = Context::new();
    ctx.insert("bad", "{not json");
    ctx.insert("oct", r#"{"kty":"oct","k":"c2VjcmV0"}"#);
    ctx.insert("nokty", r#"{"n":"AQAB"}"#);
    for key in ["bad", "oct", "nokty"] {
        let err = render(&format!("{{{{ .{key} | jwkPublicKeyPem }}}}"), &ctx).unwrap_err();
        // the key material never appears in the error
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
    }
}

#[test]
fn rsa_decrypt_reverses_go_oaep() {
    use base64::Engine as _;
    let v = vectors();
    for key in ["rsa_pkcs1", "rsa_pkcs8"] {
        for hash in ["SHA1", "SHA256", "SHA512"] {
            let mut ctx = Context::new();
            ctx.insert("key", v[key].as_str().unwrap());
            let ct = base64::engine::general_purpose::STANDARD
                .decode(v["oaep"][hash].as_str().unwrap())
                .unwrap();
            ctx.insert("ct", ct);
            let src = format!(r#"{{{{ .key | rsaDecrypt "RSA-OAEP" "{hash}" .ct }}}}"#);
            assert_eq!(
                render(&src, &ctx).unwrap(),
                format!("hello-{hash}"),
                "{key} {hash}"
            );
            // the wrong hash fails
            let other = if hash == "SHA1" { "SHA256" } else { "SHA1" };
            let src = format!(r#"{{{{ .key | rsaDecrypt "RSA-OAEP" "{other}" .ct }}}}"#);
            assert!(render(&src, &ctx).is_err(), "{key} {hash}");
        }
    }
    let mut ctx = Context::new();
    ctx.insert("key", v["rsa_pkcs1"].as_str().unwrap());
    // "None" returns the input; unknown schemes fail
    assert_eq!(
        render(r#"{{ rsaDecrypt "None" "" "plain" .key }}"#, &ctx).unwrap(),
        "plain"
    );
    assert!(render(r#"{{ rsaDecrypt "RSA-PKCS1" "SHA256" "x" .key }}"#, &ctx).is_err());
    // an EC key is not an RSA key
    ctx.insert("ec", include_str!("fixtures/leaf.key"));
    let err = render(r#"{{ rsaDecrypt "RSA-OAEP" "SHA256" "x" .ec }}"#, &ctx).unwrap_err();
    assert!(
        err.to_string().contains("could not parse RSA private key"),
        "{err}"
    );
}
