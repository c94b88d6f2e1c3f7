//! `jwkPublicKeyPem`, `jwkPrivateKeyPem` and `rsaDecrypt` against Go: the vectors in
//! fixtures/jwk-vectors.json were made by tests/reference/gen_jwk_vectors.go with Go's
//! crypto/x509 (MarshalPKIXPublicKey / MarshalPKCS8PrivateKey, what ESO's jwk.go returns)
//! and rsa.EncryptOAEP (what ESO's decrypt.go reverses).
#![allow(missing_docs, clippy::unwrap_used)]

use secretsync_template::{Context, ParseOptions, Template};

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/jwk-vectors.json")).unwrap()
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
    ctx.insert("ec", include_str!("../fixtures/leaf.key"));
    let err = render(r#"{{ rsaDecrypt "RSA-OAEP" "SHA256" "x" .ec }}"#, &ctx).unwrap_err();
    assert!(
        err.to_string().contains("could not parse RSA private key"),
        "{err}"
    );
}

#[test]
fn with_key_functions_return_go_encoded_keys_unchanged() {
    // sprig's pemBlockForKey re-encodes the parsed key: PKCS#1 for RSA, SEC1 for ECDSA.
    // Keys written by Go's x509.MarshalPKCS1PrivateKey / MarshalECPrivateKey must come
    // back byte-identical.
    let v = vectors();
    for (name, sig_oid) in [
        ("rsa_pkcs1", "1.2.840.113549.1.1.11"),
        ("ec_sec1_p256", "1.2.840.10045.4.3.2"),
        ("ec_sec1_p384", "1.2.840.10045.4.3.3"),
    ] {
        let mut ctx = Context::new();
        ctx.insert("key", v[name].as_str().unwrap());
        let out = render(
            r#"{{ $c := genCAWithKey "ca" 1 .key }}{{ $c.Key }}|{{ $c.Cert }}"#,
            &ctx,
        )
        .unwrap();
        let (key, cert) = out.split_once('|').unwrap();
        assert_eq!(key, v[name].as_str().unwrap(), "{name}");
        // the signature algorithm follows the key (SHA-384 for P-384, as Go picks)
        use base64::Engine as _;
        let b64: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        use der::Decode as _;
        let c = x509_cert::Certificate::from_der(&der).unwrap();
        assert_eq!(c.signature_algorithm().oid.to_string(), sig_oid, "{name}");
    }
    // the PKCS#8 form of the same RSA key is re-encoded as PKCS#1
    let mut ctx = Context::new();
    ctx.insert("key", v["rsa_pkcs8"].as_str().unwrap());
    let out = render(r#"{{ (genCAWithKey "ca" 1 .key).Key }}"#, &ctx).unwrap();
    assert!(
        out.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"),
        "{out}"
    );
}
