//! PushSecret writes against the Key Vault double: ESO's `managed-by` tag, content type,
//! expiry, tags, property merges, unmanaged secrets left alone, deletes.

use secretsync_model::providers::AzureAuthType;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::{
    DeleteOutcome, FetchRequest, ProviderError, PushOutcome, PushRequest, RemoteState,
    SecretProvider, SecretValue, SecretWriter,
};
use secretsync_provider_azure::AzureProvider;
use secretsync_testkit::azure::{AzureDouble, ManagedIdentity, SecretOptions};
use serde_json::{Value, json};

use crate::common::{double, no_credentials, options, provider, spec};

const CANARY: &str = "canary-a17e-keep-out-of-errors";

pub(crate) fn remote(key: &str, property: Option<&str>) -> PushSecretRemoteRef {
    PushSecretRemoteRef {
        remote_key: key.into(),
        property: property.map(str::to_string),
    }
}

pub(crate) async fn push(
    p: &dyn SecretProvider,
    key: &str,
    property: Option<&str>,
    value: &str,
    metadata: Option<&Value>,
) -> Result<PushOutcome, ProviderError> {
    let r = remote(key, property);
    let v = SecretValue::from(value);
    p.writer()
        .expect("writes")
        .push(&PushRequest {
            remote: &r,
            value: &v,
            metadata,
        })
        .await
}

async fn metadata(p: &dyn SecretProvider, key: &str) -> Value {
    let m = p
        .fetch(&FetchRequest {
            key: key.into(),
            version: None,
            metadata: true,
        })
        .await
        .expect("metadata");
    serde_json::from_slice(m.value.expose()).expect("JSON")
}

async fn value(p: &dyn SecretProvider, key: &str) -> String {
    let v = p.fetch(&FetchRequest::latest(key)).await.expect("value");
    String::from_utf8(v.value.expose().to_vec()).expect("UTF-8")
}

/// A double and a provider signing in with the system-assigned managed identity.
pub(crate) fn managed_identity_provider() -> (AzureDouble, AzureProvider) {
    let d = double();
    d.add_managed_identity(ManagedIdentity::SystemAssigned);
    let p = provider(
        spec(&d, AzureAuthType::ManagedIdentity),
        no_credentials(),
        options(&d),
    );
    (d, p)
}

#[tokio::test]
async fn secrets_are_pushed_with_the_marker_and_deleted_only_when_marked() {
    let (d, p) = managed_identity_provider();
    d.set_secret("theirs", "original", SecretOptions::default())
        .expect("seed");
    let w = p.writer().expect("writes");

    let m = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
                   "spec": {"contentType": "text/plain", "expirationDate": "2030-01-01T00:00:00Z", "tags": {"team": "a"}}});
    assert_eq!(
        w.remote_state(&remote("app", None)).await,
        Ok(RemoteState::Absent)
    );
    assert_eq!(
        push(&p, "app", None, CANARY, Some(&m)).await,
        Ok(PushOutcome::Created)
    );
    assert_eq!(value(&p, "app").await, CANARY);
    let meta = metadata(&p, "app").await;
    assert_eq!(meta["managed-by"], "external-secrets", "{meta}");
    assert_eq!(meta["team"], "a", "{meta}");
    assert_eq!(meta["attribute.expires"], "2030-01-01T00:00:00Z", "{meta}");
    assert_eq!(
        w.remote_state(&remote("app", None)).await,
        Ok(RemoteState::Managed)
    );
    let sets = d.vault_requests().get("SetSecret");
    assert_eq!(
        push(&p, "app", None, CANARY, Some(&m)).await,
        Ok(PushOutcome::Unchanged)
    );
    assert_eq!(d.vault_requests().get("SetSecret"), sets, "nothing written");
    assert_eq!(
        push(&p, "app", None, "v2", None).await,
        Ok(PushOutcome::Updated)
    );
    assert_eq!(value(&p, "app").await, "v2");
    // ESO's rule: without a requested expiry the new version has none
    assert_eq!(metadata(&p, "app").await.get("attribute.expires"), None);

    // properties merge into a JSON object
    assert_eq!(
        push(&p, "obj", Some("a"), "1", None).await,
        Ok(PushOutcome::Created)
    );
    assert_eq!(
        push(&p, "obj", Some("b"), "2", None).await,
        Ok(PushOutcome::Updated)
    );
    assert_eq!(value(&p, "obj").await, r#"{"a":"1","b":"2"}"#);
    assert_eq!(
        w.delete(&remote("obj", Some("a"))).await,
        Ok(DeleteOutcome::Deleted)
    );
    assert_eq!(value(&p, "obj").await, r#"{"b":"2"}"#);

    // unmanaged: refused, untouched, not deleted
    let refused = push(&p, "theirs", None, CANARY, None)
        .await
        .expect_err("refused");
    assert!(matches!(refused, ProviderError::NotManaged(_)), "{refused}");
    assert!(!refused.to_string().contains(CANARY), "{refused}");
    assert_eq!(
        w.delete(&remote("theirs", None)).await,
        Ok(DeleteOutcome::NotManaged)
    );
    assert_eq!(value(&p, "theirs").await, "original");

    // bad metadata is named (keys and certificates: tests/azure/object_writes.rs)
    let bad = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
                     "spec": {"expirationDate": "soon"}});
    let err = push(&p, "x", None, CANARY, Some(&bad))
        .await
        .expect_err("bad date");
    assert!(
        err.to_string().contains("metadata.spec.expirationDate"),
        "{err}"
    );
    assert!(!err.to_string().contains(CANARY), "{err}");

    deleted_then_absent(w, "app").await;
}

/// Deletes `key` (pushed before): deleted, then absent, and a second delete finds nothing.
pub(crate) async fn deleted_then_absent(w: &dyn SecretWriter, key: &str) {
    assert_eq!(
        w.delete(&remote(key, None)).await,
        Ok(DeleteOutcome::Deleted)
    );
    assert_eq!(
        w.remote_state(&remote(key, None)).await,
        Ok(RemoteState::Absent)
    );
    assert_eq!(
        w.delete(&remote(key, None)).await,
        Ok(DeleteOutcome::Absent)
    );
}
