//! PushSecret write paths against moto: Secrets Manager and Parameter Store, ESO's
//! `managed-by` tag, metadata (tags, format, types), unmanaged secrets left alone, deletes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;

use common::*;
use secretsync_model::providers::{AwsSecretsManagerSettings, AwsService};
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::{
    DeleteOutcome, FetchRequest, ProviderError, PushOutcome, PushRequest, RemoteState,
    SecretProvider, SecretValue,
};
use serde_json::{Value, json};

const CANARY: &str = "canary-91c2-not-for-logs";

fn remote(key: &str, property: Option<&str>) -> PushSecretRemoteRef {
    PushSecretRemoteRef {
        remote_key: key.into(),
        property: property.map(str::to_string),
    }
}

fn meta(spec: Value) -> Value {
    json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata", "spec": spec})
}

async fn push(
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

async fn state(p: &dyn SecretProvider, key: &str, property: Option<&str>) -> RemoteState {
    p.writer()
        .expect("writes")
        .remote_state(&remote(key, property))
        .await
        .expect("state")
}

async fn delete(p: &dyn SecretProvider, key: &str, property: Option<&str>) -> DeleteOutcome {
    p.writer()
        .expect("writes")
        .delete(&remote(key, property))
        .await
        .expect("delete")
}

async fn read(p: &dyn SecretProvider, key: &str) -> String {
    let v = p
        .fetch(&FetchRequest::latest(key))
        .await
        .expect("read back");
    String::from_utf8(v.value.expose().to_vec()).unwrap()
}

#[tokio::test]
async fn secrets_manager_push_tags_update_and_delete() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    create_secret(&sm, "theirs", "original").await;
    let mut spec = sm_spec();
    spec.secrets_manager = Some(AwsSecretsManagerSettings {
        force_delete_without_recovery: true,
        recovery_window_in_days: None,
    });
    let p = provider(&moto, spec);
    assert_eq!(
        p.capabilities().store,
        secretsync_model::secret_store::StoreCapabilities::ReadWrite
    );

    let m = meta(
        json!({"tags": {"team": "a"}, "secretPushFormat": "string", "description": "db creds"}),
    );
    assert_eq!(state(&p, "app/db", None).await, RemoteState::Absent);
    assert_eq!(
        push(&p, "app/db", None, CANARY, Some(&m)).await,
        Ok(PushOutcome::Created)
    );
    let described = sm
        .describe_secret()
        .secret_id("app/db")
        .send()
        .await
        .unwrap();
    let tags: BTreeMap<&str, &str> = described
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([("managed-by", "external-secrets"), ("team", "a")])
    );
    assert_eq!(described.description(), Some("db creds"));
    let raw = sm
        .get_secret_value()
        .secret_id("app/db")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.secret_string(), Some(CANARY), "secretPushFormat string");
    assert_eq!(state(&p, "app/db", None).await, RemoteState::Managed);

    assert_eq!(
        push(&p, "app/db", None, CANARY, Some(&m)).await,
        Ok(PushOutcome::Unchanged)
    );
    // new value, new tags: the old tag goes, the marker stays
    let m2 = meta(json!({"tags": {"owner": "b"}, "secretPushFormat": "string"}));
    assert_eq!(
        push(&p, "app/db", None, "v2", Some(&m2)).await,
        Ok(PushOutcome::Updated)
    );
    assert_eq!(read(&p, "app/db").await, "v2");
    let tags: Vec<String> = sm
        .describe_secret()
        .secret_id("app/db")
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| t.key().unwrap().to_string())
        .collect();
    assert_eq!(tags.len(), 2, "{tags:?}");
    assert!(tags.contains(&"owner".to_string()) && tags.contains(&"managed-by".to_string()));

    // binary (ESO's default format) and property merges
    assert_eq!(
        push(&p, "app/json", Some("user"), "admin", None).await,
        Ok(PushOutcome::Created)
    );
    assert_eq!(
        push(&p, "app/json", Some("pw"), "x", None).await,
        Ok(PushOutcome::Updated)
    );
    let raw = sm
        .get_secret_value()
        .secret_id("app/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.secret_binary().map(|b| b.as_ref().to_vec()),
        Some(br#"{"user":"admin","pw":"x"}"#.to_vec()),
        "members in insertion order, as ESO's sjson"
    );
    assert_eq!(
        delete(&p, "app/json", Some("pw")).await,
        DeleteOutcome::Deleted
    );
    assert_eq!(read(&p, "app/json").await, r#"{"user":"admin"}"#);

    // unmanaged: refused, untouched, not deleted
    let refused = push(&p, "theirs", None, CANARY, None)
        .await
        .expect_err("refused");
    assert!(matches!(refused, ProviderError::NotManaged(_)), "{refused}");
    assert!(!refused.to_string().contains(CANARY));
    assert_eq!(state(&p, "theirs", None).await, RemoteState::Unmanaged);
    assert_eq!(delete(&p, "theirs", None).await, DeleteOutcome::NotManaged);
    assert_eq!(read(&p, "theirs").await, "original");

    // the managed-by tag cannot be requested
    let bad = meta(json!({"tags": {"managed-by": "me"}}));
    assert!(push(&p, "app/x", None, "v", Some(&bad)).await.is_err());
    assert_eq!(state(&p, "app/x", None).await, RemoteState::Absent);

    // delete (force, no recovery window): gone
    assert_eq!(delete(&p, "app/db", None).await, DeleteOutcome::Deleted);
    assert_eq!(state(&p, "app/db", None).await, RemoteState::Absent);
    assert_eq!(delete(&p, "app/db", None).await, DeleteOutcome::Absent);
}

#[tokio::test]
async fn parameter_store_push_types_tags_and_delete() {
    let moto = moto().await;
    let ssm = ssm_admin(&moto);
    ssm.put_parameter()
        .name("/theirs")
        .value("original")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let mut spec = sm_spec();
    spec.service = AwsService::ParameterStore;
    let p = provider(&moto, spec);

    let m = meta(json!({"secretType": "SecureString", "tags": {"team": "a"}}));
    assert_eq!(
        push(&p, "/app/db", None, CANARY, Some(&m)).await,
        Ok(PushOutcome::Created)
    );
    let got = ssm
        .get_parameter()
        .name("/app/db")
        .with_decryption(true)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(got.value(), Some(CANARY));
    assert_eq!(
        got.r#type(),
        Some(&aws_sdk_ssm::types::ParameterType::SecureString)
    );
    let tags: BTreeMap<String, String> = ssm
        .list_tags_for_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id("/app/db")
        .send()
        .await
        .unwrap()
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(
        tags.get("managed-by").map(String::as_str),
        Some("external-secrets")
    );
    assert_eq!(tags.get("team").map(String::as_str), Some("a"));
    assert_eq!(
        push(&p, "/app/db", None, CANARY, Some(&m)).await,
        Ok(PushOutcome::Unchanged)
    );
    assert_eq!(
        push(&p, "/app/db", None, "v2", Some(&m)).await,
        Ok(PushOutcome::Updated)
    );
    assert_eq!(read(&p, "/app/db").await, "v2");

    let refused = push(&p, "/theirs", None, CANARY, None)
        .await
        .expect_err("refused");
    assert!(matches!(refused, ProviderError::NotManaged(_)), "{refused}");
    assert_eq!(delete(&p, "/theirs", None).await, DeleteOutcome::NotManaged);
    assert_eq!(read(&p, "/theirs").await, "original");

    assert_eq!(delete(&p, "/app/db", None).await, DeleteOutcome::Deleted);
    assert_eq!(state(&p, "/app/db", None).await, RemoteState::Absent);
}
