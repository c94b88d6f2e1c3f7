//! KV writes (PushSecret) against a real OpenBao dev server: ESO's `managed-by` marker,
//! property merges, check-and-set, deletes that leave unmanaged secrets alone, KV v1 and v2.

use crate::support;

use secretsync_model::provider::{FetchRequest, SecretProvider};
use secretsync_model::providers::VaultCheckAndSet;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::{
    DeleteOutcome, ProviderError, PushOutcome, PushRequest, RemoteState, SecretValue, SecretWriter,
};
use secretsync_provider_vault::VaultProvider;
use serde_json::{Value, json};
use support::*;

const CANARY: &str = "canary-7f3a-do-not-log";

fn remote(key: &str, property: Option<&str>) -> PushSecretRemoteRef {
    PushSecretRemoteRef {
        remote_key: key.into(),
        property: property.map(str::to_string),
    }
}

async fn push(
    p: &VaultProvider,
    key: &str,
    property: Option<&str>,
    value: &str,
) -> Result<PushOutcome, ProviderError> {
    let r = remote(key, property);
    let value = SecretValue::from(value);
    p.writer()
        .expect("vault writes")
        .push(&PushRequest {
            remote: &r,
            value: &value,
            metadata: None,
        })
        .await
}

async fn state(p: &VaultProvider, key: &str, property: Option<&str>) -> RemoteState {
    p.remote_state(&remote(key, property))
        .await
        .expect("remote state")
}

async fn read(p: &VaultProvider, key: &str) -> Value {
    json(
        &p.fetch(&FetchRequest::latest(key))
            .await
            .expect("read back")
            .value,
    )
}

#[tokio::test]
async fn kv_v2_push_marks_merges_and_deletes_only_what_it_manages() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("v2", spec(&bao, "kv2", true, auth), creds);

    assert_eq!(state(&p, "app/db", None).await, RemoteState::Absent);
    let created = push(&p, "app/db", None, r#"{"user":"u1","password":"p1"}"#).await;
    assert_eq!(created, Ok(PushOutcome::Created));
    assert_eq!(
        read(&p, "app/db").await,
        json!({"user": "u1", "password": "p1"})
    );
    let meta = bao.api("GET", "kv2/metadata/app/db", None).await;
    assert_eq!(
        meta["data"]["custom_metadata"],
        json!({"managed-by": "external-secrets"}),
        "ESO's marker"
    );
    assert_eq!(state(&p, "app/db", None).await, RemoteState::Managed);

    // same content, other member order: nothing written
    let again = push(&p, "app/db", None, r#"{"password":"p1","user":"u1"}"#).await;
    assert_eq!(again, Ok(PushOutcome::Unchanged));
    let meta = bao.api("GET", "kv2/metadata/app/db", None).await;
    assert_eq!(meta["data"]["current_version"], 1);

    // a property push merges into the existing object
    assert_eq!(state(&p, "app/db", Some("host")).await, RemoteState::Absent);
    let merged = push(&p, "app/db", Some("host"), "db.local").await;
    assert_eq!(merged, Ok(PushOutcome::Updated));
    assert_eq!(
        read(&p, "app/db").await,
        json!({"user": "u1", "password": "p1", "host": "db.local"})
    );
    assert_eq!(
        push(&p, "app/db", Some("host"), "db.local").await,
        Ok(PushOutcome::Unchanged)
    );

    // an out-of-band edit is replaced by the next push
    bao.put_v2(
        "kv2",
        "app/db",
        json!({"user": "mallory", "password": "p1", "host": "db.local"}),
    )
    .await;
    assert_eq!(
        push(&p, "app/db", Some("user"), "u1").await,
        Ok(PushOutcome::Updated)
    );
    assert_eq!(read(&p, "app/db").await["user"], "u1");

    // deleting a property keeps the others; deleting the last one removes the secret
    assert_eq!(
        p.delete(&remote("app/db", Some("host"))).await,
        Ok(DeleteOutcome::Deleted)
    );
    assert_eq!(
        read(&p, "app/db").await,
        json!({"user": "u1", "password": "p1"})
    );
    assert_eq!(
        p.delete(&remote("app/db", None)).await,
        Ok(DeleteOutcome::Deleted)
    );
    assert_eq!(state(&p, "app/db", None).await, RemoteState::Absent);
    let (status, _) = bao
        .try_api(None, &bao.root_token(), "GET", "kv2/metadata/app/db", None)
        .await;
    assert_eq!(status, 404, "metadata and every version are gone");
    assert_eq!(
        p.delete(&remote("app/db", None)).await,
        Ok(DeleteOutcome::Absent)
    );
}

#[tokio::test]
async fn secrets_without_the_marker_are_never_overwritten_or_deleted() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "theirs", json!({"token": "original"}))
        .await;
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("v2", spec(&bao, "kv2", true, auth), creds);

    assert_eq!(state(&p, "theirs", None).await, RemoteState::Unmanaged);
    for property in [None, Some("token"), Some("other")] {
        let refused = push(
            &p,
            "theirs",
            property,
            &format!("{{\"token\":\"{CANARY}\"}}"),
        )
        .await
        .expect_err("not managed");
        assert!(matches!(refused, ProviderError::NotManaged(_)), "{refused}");
        assert!(refused.to_string().contains("\"theirs\""), "{refused}");
        assert!(!refused.to_string().contains(CANARY), "{refused}");
    }
    assert_eq!(
        p.delete(&remote("theirs", None)).await,
        Ok(DeleteOutcome::NotManaged)
    );
    assert_eq!(read(&p, "theirs").await, json!({"token": "original"}));
    let meta = bao.api("GET", "kv2/metadata/theirs", None).await;
    assert_eq!(meta["data"]["current_version"], 1, "nothing was written");

    // a value that is not a JSON object is refused without quoting it
    let bad = push(&p, "mine", None, CANARY).await.expect_err("not JSON");
    assert!(!bad.to_string().contains(CANARY), "{bad}");
    assert_eq!(state(&p, "mine", None).await, RemoteState::Absent);
}

#[tokio::test]
async fn kv_v1_keeps_the_marker_in_custom_metadata() {
    let bao = Bao::start().await;
    bao.enable_kv("kv1", 1).await;
    bao.api("POST", "kv1/theirs", Some(json!({"a": "1"}))).await;
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("v1", spec(&bao, "kv1", false, auth), creds);

    assert_eq!(
        push(&p, "app", Some("a"), "1").await,
        Ok(PushOutcome::Created)
    );
    let raw = bao.api("GET", "kv1/app", None).await;
    assert_eq!(
        raw["data"],
        json!({"a": "1", "custom_metadata": {"managed-by": "external-secrets"}})
    );
    assert_eq!(
        push(&p, "app", Some("a"), "1").await,
        Ok(PushOutcome::Unchanged)
    );
    assert_eq!(
        push(&p, "app", Some("b"), "2").await,
        Ok(PushOutcome::Updated)
    );
    assert_eq!(state(&p, "app", Some("b")).await, RemoteState::Managed);
    assert_eq!(
        p.delete(&remote("app", Some("a"))).await,
        Ok(DeleteOutcome::Deleted)
    );
    let raw = bao.api("GET", "kv1/app", None).await;
    assert_eq!(
        raw["data"],
        json!({"b": "2", "custom_metadata": {"managed-by": "external-secrets"}})
    );
    assert_eq!(
        p.delete(&remote("app", None)).await,
        Ok(DeleteOutcome::Deleted)
    );
    assert_eq!(state(&p, "app", None).await, RemoteState::Absent);

    assert_eq!(state(&p, "theirs", None).await, RemoteState::Unmanaged);
    assert!(matches!(
        push(&p, "theirs", Some("a"), "2").await,
        Err(ProviderError::NotManaged(_))
    ));
}

#[tokio::test]
async fn check_and_set_sends_the_current_version() {
    let bao = Bao::start().await;
    bao.enable_kv("cas", 2).await;
    bao.api("POST", "cas/config", Some(json!({"cas_required": true})))
        .await;
    let (auth, creds) = root_token_auth(&bao);
    let mut s = spec(&bao, "cas", true, auth);

    // without checkAndSet the mount refuses the write: proves the option is what makes it work
    let plain = provider("plain", s.clone(), creds.clone());
    let refused = push(&plain, "k", None, r#"{"a":"1"}"#).await;
    assert!(refused.is_err(), "{refused:?}");

    s.check_and_set = Some(VaultCheckAndSet { required: true });
    let p = provider("cas", s, creds);
    assert_eq!(
        push(&p, "k", None, r#"{"a":"1"}"#).await,
        Ok(PushOutcome::Created)
    );
    assert_eq!(
        push(&p, "k", None, r#"{"a":"2"}"#).await,
        Ok(PushOutcome::Updated)
    );
    assert_eq!(
        push(&p, "k", Some("b"), "3").await,
        Ok(PushOutcome::Updated)
    );
    let meta = bao.api("GET", "cas/metadata/k", None).await;
    assert_eq!(meta["data"]["current_version"], 3);
    assert_eq!(read(&p, "k").await, json!({"a": "2", "b": "3"}));
}
