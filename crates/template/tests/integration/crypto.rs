//! Round-trip tests of the generating crypto functions (sprig crypto.go, ESO pkcs12.go,
//! jwk.go, decrypt.go): outputs are random, so they are checked by parsing and verifying.
#![allow(missing_docs, clippy::unwrap_used)]

use der::{Decode as _, Encode as _};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use secretsync_template::{Context, ParseOptions, Template};
use x509_cert::Certificate;

const LEAF_KEY: &str = include_str!("../fixtures/leaf.key");

fn render_with(src: &str, ctx: &Context) -> Result<String, secretsync_template::TemplateError> {
    Template::parse("key", src, &ParseOptions::default())?.render_string(ctx)
}

fn render(src: &str) -> String {
    render_with(src, &Context::new()).unwrap()
}

fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(label) = line.strip_prefix("-----BEGIN ") {
            let label = label.trim_end_matches("-----").to_string();
            let mut b64 = String::new();
            for l in lines.by_ref() {
                if l.starts_with("-----END ") {
                    break;
                }
                b64.push_str(l.trim());
            }
            out.push((
                label,
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            ));
        }
    }
    out
}

fn cert(text: &str) -> Certificate {
    let blocks = pem_blocks(text);
    assert_eq!(blocks[0].0, "CERTIFICATE");
    Certificate::from_der(&blocks[0].1).unwrap()
}

/// Verify `child`'s signature with `issuer`'s public key: RSA PKCS#1 v1.5 SHA-256 or
/// ECDSA P-256 SHA-256, what Go uses for those keys.
fn verify(child: &Certificate, issuer: &Certificate) {
    let spki = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let tbs = child.tbs_certificate().to_der().unwrap();
    let sig = child.signature().raw_bytes();
    match child.signature_algorithm().oid.to_string().as_str() {
        "1.2.840.113549.1.1.11" => {
            let key = rsa::PublicKey::from_public_key_der(&spki).unwrap();
            let verifier = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key);
            let sig = rsa::pkcs1v15::Signature::try_from(sig).unwrap();
            verifier.verify(&tbs, &sig).unwrap();
        }
        "1.2.840.10045.4.3.2" => {
            let vk = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).unwrap();
            let sig = p256::ecdsa::DerSignature::try_from(sig).unwrap();
            vk.verify(&tbs, &sig).unwrap();
        }
        other => panic!("unexpected signature algorithm {other}"),
    }
}

fn extension(c: &Certificate, oid: &str) -> Option<(bool, Vec<u8>)> {
    let oid = der::oid::ObjectIdentifier::new_unwrap(oid);
    c.tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| (e.critical, e.extn_value.as_bytes().to_vec()))
}

#[test]
fn gen_ca_with_key_then_signed_cert_verifies_against_the_ca() {
    let mut ctx = Context::new();
    ctx.insert("key", LEAF_KEY);
    let out = render_with(
        r#"{{- $ca := genCAWithKey "my-ca" 365 .key -}}
{{- $c := genSignedCertWithKey "svc.example" (list "10.0.0.1" "::1") (list "svc.example" "b.example") 30 $ca .key -}}
{{ $ca.Cert }}|{{ $ca.Key }}|{{ $c.Cert }}|{{ $c.Key }}"#,
        &ctx,
    )
    .unwrap();
    let parts: Vec<&str> = out.split('|').collect();
    let ca = cert(parts[0]);
    let leaf = cert(parts[2]);
    // the (PKCS#8 P-256) key comes back as sprig's pemBlockForKey writes it: SEC1
    assert!(
        parts[1].starts_with("-----BEGIN EC PRIVATE KEY-----"),
        "{}",
        parts[1]
    );
    assert_eq!(parts[1], parts[3]);
    let parsed = p256::SecretKey::from_sec1_der(&pem_blocks(parts[1])[0].1).unwrap();
    let fixture = {
        use rsa::pkcs8::DecodePrivateKey as _;
        p256::SecretKey::from_pkcs8_der(&pem_blocks(LEAF_KEY)[0].1).unwrap()
    };
    assert_eq!(parsed.to_bytes(), fixture.to_bytes());
    assert_eq!(
        ca.signature_algorithm().oid.to_string(),
        "1.2.840.10045.4.3.2"
    );

    assert_eq!(ca.tbs_certificate().subject().to_string(), "CN=my-ca");
    assert_eq!(
        ca.tbs_certificate().issuer(),
        ca.tbs_certificate().subject()
    );
    verify(&ca, &ca);
    assert_eq!(
        leaf.tbs_certificate().issuer(),
        ca.tbs_certificate().subject()
    );
    assert_eq!(
        leaf.tbs_certificate().subject().to_string(),
        "CN=svc.example"
    );
    verify(&leaf, &ca);

    // basic constraints: CA true on the CA, empty (CA false) on the leaf; both critical
    assert_eq!(
        extension(&ca, "2.5.29.19").unwrap(),
        (true, vec![0x30, 0x03, 0x01, 0x01, 0xff])
    );
    assert_eq!(
        extension(&leaf, "2.5.29.19").unwrap(),
        (true, vec![0x30, 0x00])
    );
    // key usage: digitalSignature|keyEncipherment(|keyCertSign)
    assert_eq!(
        extension(&ca, "2.5.29.15").unwrap(),
        (true, vec![0x03, 0x02, 0x02, 0xa4])
    );
    assert_eq!(
        extension(&leaf, "2.5.29.15").unwrap(),
        (true, vec![0x03, 0x02, 0x05, 0xa0])
    );
    // the leaf's authority key id is the CA's subject key id
    let ski = extension(&ca, "2.5.29.14").unwrap().1;
    let aki = extension(&leaf, "2.5.29.35").unwrap().1;
    assert_eq!(&aki[4..], &ski[2..]);
    assert!(extension(&ca, "2.5.29.35").is_none());
    // SANs: DNS names then IPs, as Go writes them
    let san = extension(&leaf, "2.5.29.17").unwrap().1;
    let want_tail = [0x87, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    assert!(san.ends_with(&want_tail));
    assert!(san.windows(11).any(|w| w == b"svc.example"));
    assert!(san.windows(6).any(|w| w == [0x87, 0x04, 10, 0, 0, 1]));
    // validity: 30 days
    let v = leaf.tbs_certificate().validity();
    let secs = v.not_after.to_unix_duration().as_secs() - v.not_before.to_unix_duration().as_secs();
    assert_eq!(secs, 30 * 86_400);
}

#[test]
fn gen_ca_generates_an_rsa_2048_key_and_signs_a_cert() {
    let out = render(
        r#"{{- $ca := genCA "gen-ca" 10 -}}{{- $c := genSignedCert "leaf" nil nil 5 $ca -}}{{ $ca.Cert }}|{{ $c.Cert }}|{{ $c.Key }}"#,
    );
    let parts: Vec<&str> = out.split('|').collect();
    let (ca, leaf) = (cert(parts[0]), cert(parts[1]));
    verify(&leaf, &ca);
    let key = rsa::PrivateKey::from_pkcs1_der(&pem_blocks(parts[2])[0].1).unwrap();
    use rsa::traits::PublicKeyParts as _;
    assert_eq!(key.n().bit_width(), 2048);
    // no SAN extension without names
    assert!(extension(&leaf, "2.5.29.17").is_none());
}

#[test]
fn self_signed_cert_with_ecdsa_and_ed25519_keys() {
    let out = render(
        r#"{{- $k := genPrivateKey "ecdsa" -}}{{- $c := genSelfSignedCertWithKey "ec" nil (list "a.example") 1 $k -}}{{ $k }}|{{ $c.Cert }}|{{ $c.Key }}"#,
    );
    let parts: Vec<&str> = out.split('|').collect();
    assert!(parts[0].starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
    assert_eq!(parts[0], parts[2]);
    let c = cert(parts[1]);
    // ecdsa-with-SHA256, self-signed, not a CA
    assert_eq!(
        c.signature_algorithm().oid.to_string(),
        "1.2.840.10045.4.3.2"
    );
    verify(&c, &c);
    assert_eq!(
        extension(&c, "2.5.29.19").unwrap(),
        (true, vec![0x30, 0x00])
    );
    assert!(extension(&c, "2.5.29.14").is_none());

    let out = render(
        r#"{{- $k := genPrivateKey "ed25519" -}}{{- $c := genSelfSignedCertWithKey "ed" nil nil 1 $k -}}{{ $k }}|{{ $c.Cert }}"#,
    );
    let parts: Vec<&str> = out.split('|').collect();
    assert!(parts[0].starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let c = cert(parts[1]);
    assert_eq!(c.signature_algorithm().oid.to_string(), "1.3.101.112");
}

#[test]
fn gen_private_key_types_like_sprig() {
    // sprig crypto_test.go TestGenPrivateKey: unknown types return the message as text.
    assert_eq!(render(r#"{{ genPrivateKey "bad" }}"#), "Unknown type bad");
    assert!(render(r#"{{ genPrivateKey "ecdsa" }}"#).contains("EC PRIVATE KEY"));
    // "" and "rsa" share one arm; one 4096-bit generation keeps the debug test short
    let out = render(r#"{{ genPrivateKey "" }}"#);
    let key = rsa::PrivateKey::from_pkcs1_der(&pem_blocks(&out)[0].1).unwrap();
    use rsa::traits::PublicKeyParts as _;
    assert_eq!(key.n().bit_width(), 4096);
    let err = render_with(r#"{{ genPrivateKey "dsa" }}"#, &Context::new()).unwrap_err();
    assert!(err.to_string().contains("DSA"), "{err}");
}

#[test]
fn build_custom_cert_checks_and_returns_the_inputs() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut ctx = Context::new();
    ctx.insert("crt", b64(include_str!("../fixtures/leaf.crt")));
    ctx.insert("key", b64(LEAF_KEY));
    let out = render_with(
        "{{ $c := buildCustomCert .crt .key }}{{ $c.Cert }}{{ $c.Key }}",
        &ctx,
    )
    .unwrap();
    assert_eq!(
        out,
        format!("{}{}", include_str!("../fixtures/leaf.crt"), LEAF_KEY)
    );
    ctx.insert("bad", b64("not a pem"));
    let err = render_with("{{ buildCustomCert .bad .key }}", &ctx).unwrap_err();
    assert!(
        err.to_string().contains("unable to decode certificate"),
        "{err}"
    );
}

#[test]
fn aes_round_trip_through_templates() {
    // sprig crypto_test.go TestEncryptDecryptAES: decryptAES "secretkey" (encryptAES "secretkey" "plaintext")
    assert_eq!(
        render(r#"{{ encryptAES "secretkey" "plaintext" | decryptAES "secretkey" }}"#),
        "plaintext"
    );
}

fn fixture_ctx() -> Context {
    let mut ctx = Context::new();
    ctx.insert("crt", include_str!("../fixtures/leaf.crt"));
    ctx.insert("key", LEAF_KEY);
    ctx.insert("root", include_str!("../fixtures/root.crt"));
    ctx.insert(
        "chain",
        format!(
            "{}{}",
            include_str!("../fixtures/leaf.crt"),
            include_str!("../fixtures/root.crt")
        ),
    );
    ctx
}

#[test]
fn pem_to_pkcs12_round_trips_through_pkcs12key_and_pkcs12cert() {
    let ctx = fixture_ctx();
    let leaf_der = &pem_blocks(include_str!("../fixtures/leaf.crt"))[0].1;
    let root_der = &pem_blocks(include_str!("../fixtures/root.crt"))[0].1;
    let key_der = &pem_blocks(LEAF_KEY)[0].1;

    let out = render_with(
        "{{ $p := pemToPkcs12 .crt .key | b64dec }}{{ pkcs12key $p }}|{{ pkcs12cert $p }}",
        &ctx,
    )
    .unwrap();
    let (key, cert) = out.split_once('|').unwrap();
    // pkcs12key returns PKCS#8 (x509.MarshalPKCS8PrivateKey); same P-256 scalar
    use rsa::pkcs8::DecodePrivateKey as _;
    let got = p256::SecretKey::from_pkcs8_der(&pem_blocks(key)[0].1).unwrap();
    let want = p256::SecretKey::from_pkcs8_der(key_der).unwrap();
    assert_eq!(got.to_bytes(), want.to_bytes());
    let certs = pem_blocks(cert);
    assert_eq!(certs.len(), 1);
    assert_eq!(&certs[0].1, leaf_der);

    // with a password and the CA chain: the leaf stays the leaf, the CA follows
    let out = render_with(
        r#"{{ $p := fullPemToPkcs12Pass .chain .key "s3cret" | b64dec }}{{ pkcs12certPass "s3cret" $p }}|{{ pkcs12keyPass "s3cret" $p }}"#,
        &ctx,
    )
    .unwrap();
    let (cert, key) = out.split_once('|').unwrap();
    let certs = pem_blocks(cert);
    assert_eq!(certs.len(), 2);
    assert_eq!(&certs[0].1, leaf_der);
    assert_eq!(&certs[1].1, root_der);
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    // the wrong password fails
    assert!(
        render_with(
            r#"{{ fullPemToPkcs12Pass .chain .key "s3cret" | b64dec | pkcs12certPass "nope" }}"#,
            &ctx
        )
        .is_err()
    );
    // fullPemToPkcs12 without password, pemToPkcs12Pass ignores the CA
    let out = render_with(
        r#"{{ fullPemToPkcs12 .chain .key | b64dec | pkcs12cert }}|{{ pemToPkcs12Pass .chain .key "pw" | b64dec | pkcs12certPass "pw" }}"#,
        &ctx,
    )
    .unwrap();
    let (full, single) = out.split_once('|').unwrap();
    assert_eq!(pem_blocks(full).len(), 2);
    assert_eq!(pem_blocks(single).len(), 1);
}

#[test]
fn pkcs12_archives_have_go_pkcs12_modern_layout() {
    use base64::Engine as _;
    let ctx = fixture_ctx();
    let b64 = render_with(r#"{{ fullPemToPkcs12Pass .chain .key "s3cret" }}"#, &ctx).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&der, "s3cret").unwrap();
    assert_eq!(archive.keys.len(), 1);
    assert_eq!(archive.certs.len(), 2);
    // leaf: localKeyId = SHA-1(leaf), no friendly name; CA: no attributes
    use sha1::Digest as _;
    let leaf_der = &pem_blocks(include_str!("../fixtures/leaf.crt"))[0].1;
    let id = sha1::Sha1::digest(leaf_der).to_vec();
    let leaf = archive
        .certs
        .iter()
        .find(|c| c.cert.as_der() == leaf_der.as_slice())
        .unwrap();
    assert_eq!(leaf.local_key_id.as_deref(), Some(id.as_slice()));
    assert!(leaf.friendly_name.is_none());
    let ca = archive
        .certs
        .iter()
        .find(|c| c.cert.as_der() != leaf_der.as_slice())
        .unwrap();
    assert!(ca.local_key_id.is_none() && ca.friendly_name.is_none());
    // PBES2 (1.2.840.113549.1.5.13) and a SHA-256 MAC (2.16.840.1.101.3.4.2.1)
    let has = |oid: &[u8]| der.windows(oid.len()).any(|w| w == oid);
    assert!(has(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d
    ]));
    assert!(has(&[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
    ]));
}

#[test]
fn pem_truststore_to_pkcs12_holds_trusted_certificates() {
    use base64::Engine as _;
    let ctx = fixture_ctx();
    let b64 = render_with(r#"{{ pemTruststoreToPKCS12Pass .chain "changeit" }}"#, &ctx).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&der, "changeit").unwrap();
    assert_eq!(archive.certs.len(), 2);
    assert!(archive.keys.is_empty());
    assert!(
        archive
            .certs
            .iter()
            .all(|c| c.trusted && c.local_key_id.is_none())
    );
    let b64 = render_with("{{ pemTruststoreToPKCS12 .root }}", &ctx).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&der, "").unwrap();
    assert_eq!(archive.certs.len(), 1);
    assert!(archive.keys.is_empty());
}
