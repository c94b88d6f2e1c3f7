//! PushSecret to Key Vault keys and certificates against the double: import as ESO does,
//! unchanged objects not rewritten (request counts), untagged objects refused and kept,
//! Delete only for what was pushed, no key material in errors.

use secretsync_model::{
    DeleteOutcome, FetchRequest, ProviderError, PushOutcome, RemoteState, SecretProvider,
};
use secretsync_template::funcs::material::{leaf_certificate, private_key_jwk};
use secretsync_testkit::azure::CertificateOptions;
use serde_json::{Value, json};

use crate::writes::{deleted_then_absent, managed_identity_provider, push, remote};

const RSA_KEY: &str = include_str!("../fixtures/rsa.key");
const EC_KEY: &str = include_str!("../../../template/tests/fixtures/leaf.key");
const LEAF_CRT: &str = include_str!("../../../template/tests/fixtures/leaf.crt");
const CANARY: &str = "canaryb17ekeepoutoferrors";

async fn fetch_json(p: &dyn SecretProvider, key: &str, metadata: bool) -> Value {
    let v = p
        .fetch(&FetchRequest {
            key: key.into(),
            version: None,
            metadata,
        })
        .await
        .expect("fetch");
    serde_json::from_slice(v.value.expose()).expect("JSON")
}

#[tokio::test]
async fn keys_are_imported_as_jwks_once_and_deleted_only_when_pushed() {
    let (d, p) = managed_identity_provider();
    let w = p.writer().expect("writes");
    let m = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
                   "spec": {"tags": {"team": "a"}}});

    for (name, pem) in [("rsa", RSA_KEY), ("ec", EC_KEY)] {
        let key = format!("key/{name}");
        assert_eq!(
            w.remote_state(&remote(&key, None)).await,
            Ok(RemoteState::Absent)
        );
        assert_eq!(
            push(&p, &key, None, pem, Some(&m)).await,
            Ok(PushOutcome::Created),
            "{key}"
        );
        let local = private_key_jwk(pem.as_bytes()).expect("jwk");
        let remote_jwk = fetch_json(&p, &key, false).await;
        assert_eq!(remote_jwk["kty"].as_str(), local.get("kty"), "{remote_jwk}");
        for member in ["n", "e", "crv", "x", "y"] {
            assert_eq!(
                remote_jwk[member].as_str(),
                local.get(member),
                "{key} {member}"
            );
        }
        assert!(remote_jwk.get("d").is_none(), "private part never returned");
        let meta = fetch_json(&p, &key, true).await;
        assert_eq!(meta["managed-by"], "external-secrets", "{meta}");
        assert_eq!(meta["team"], "a", "{meta}");
        assert_eq!(
            w.remote_state(&remote(&key, None)).await,
            Ok(RemoteState::Managed)
        );

        let imports = d.vault_requests().get("ImportKey");
        assert_eq!(
            push(&p, &key, None, pem, Some(&m)).await,
            Ok(PushOutcome::Unchanged)
        );
        assert_eq!(
            d.vault_requests().get("ImportKey"),
            imports,
            "nothing written"
        );
    }
    assert_eq!(d.vault_requests().get("ImportKey"), 2);
    // a different key replaces the pushed one
    assert_eq!(
        push(&p, "key/ec", None, RSA_KEY, None).await,
        Ok(PushOutcome::Updated)
    );
    assert_eq!(fetch_json(&p, "key/ec", false).await["kty"], "RSA");

    // untagged: refused, kept, not deleted
    d.set_key(
        "theirs",
        json!({"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"}),
    )
    .expect("seed");
    assert_eq!(
        w.remote_state(&remote("key/theirs", None)).await,
        Ok(RemoteState::Unmanaged)
    );
    let refused = push(&p, "key/theirs", None, EC_KEY, None)
        .await
        .expect_err("refused");
    assert!(matches!(refused, ProviderError::NotManaged(_)), "{refused}");
    assert_eq!(
        w.delete(&remote("key/theirs", None)).await,
        Ok(DeleteOutcome::NotManaged)
    );
    assert_eq!(fetch_json(&p, "key/theirs", false).await["x"], "eA");

    // delete what was pushed
    deleted_then_absent(w, "key/rsa").await;
    assert_eq!(d.vault_requests().get("DeleteKey"), 1);

    // only tags apply to keys and certificates
    let expiring = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
                          "spec": {"expirationDate": "2030-01-01T00:00:00Z"}});
    let err = push(&p, "key/ec", None, EC_KEY, Some(&expiring))
        .await
        .expect_err("no expiry for keys");
    assert!(err.to_string().contains("only tags apply"), "{err}");

    // no key material in errors: a broken PEM key, a symmetric key the vault refuses,
    // a property on a key
    let broken = format!("-----BEGIN PRIVATE KEY-----\n{CANARY}\n-----END PRIVATE KEY-----\n");
    for (value, property) in [
        (broken.as_str(), None),
        (CANARY, None),
        (RSA_KEY, Some("p")),
    ] {
        let err = push(&p, "key/bad", property, value, None)
            .await
            .expect_err("refused");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains(CANARY), "{shown}");
            assert!(!shown.contains("MII"), "{shown}");
        }
    }
}

#[tokio::test]
async fn certificates_are_imported_once_and_deleted_only_when_pushed() {
    let (d, p) = managed_identity_provider();
    let w = p.writer().expect("writes");
    let bundle = format!("{EC_KEY}{LEAF_CRT}");
    let (_, leaf) = leaf_certificate(LEAF_CRT.as_bytes()).expect("leaf");

    assert_eq!(
        push(&p, "cert/site", None, &bundle, None).await,
        Ok(PushOutcome::Created)
    );
    let der = p
        .fetch(&FetchRequest::latest("cert/site"))
        .await
        .expect("cert");
    assert_eq!(der.value.expose(), leaf.as_slice());
    assert_eq!(
        fetch_json(&p, "cert/site", true).await["managed-by"],
        "external-secrets"
    );
    assert_eq!(
        w.remote_state(&remote("cert/site", None)).await,
        Ok(RemoteState::Managed)
    );
    assert_eq!(
        push(&p, "cert/site", None, &bundle, None).await,
        Ok(PushOutcome::Unchanged)
    );
    assert_eq!(
        d.vault_requests().get("ImportCertificate"),
        1,
        "imported once"
    );

    // untagged: refused, kept, not deleted
    d.set_certificate("theirs", &leaf, CertificateOptions::default())
        .expect("seed");
    let refused = push(&p, "cert/theirs", None, &bundle, None)
        .await
        .expect_err("refused");
    assert!(matches!(refused, ProviderError::NotManaged(_)), "{refused}");
    assert_eq!(
        w.delete(&remote("cert/theirs", None)).await,
        Ok(DeleteOutcome::NotManaged)
    );
    assert_eq!(
        w.remote_state(&remote("cert/theirs", None)).await,
        Ok(RemoteState::Unmanaged)
    );

    // not a certificate: named, no material shown, nothing sent
    let err = push(&p, "cert/bad", None, &format!("{CANARY}{EC_KEY}"), None)
        .await
        .expect_err("no certificate");
    assert!(err.to_string().contains("not a certificate"), "{err}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(CANARY) && !shown.contains("MII"), "{shown}");
    }
    assert_eq!(d.vault_requests().get("ImportCertificate"), 1);

    deleted_then_absent(w, "cert/site").await;
    assert_eq!(d.vault_requests().get("DeleteCertificate"), 1);
}
