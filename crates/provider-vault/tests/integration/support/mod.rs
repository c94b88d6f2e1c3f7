//! Shared helpers of the Vault provider integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod bao;

use std::collections::BTreeMap;
use std::sync::Arc;

use secretsync_model::SecretValue;
use secretsync_model::credentials::StaticCredentials;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::meta::SecretKeySelector;
use secretsync_model::provider::{StoreContext, StoreId};
use secretsync_model::providers::{VaultAuth, VaultSpec};
use secretsync_provider_vault::{VaultOptions, VaultProvider};

pub use bao::Bao;

/// Namespace of the test SecretStores.
pub const NS: &str = "team";

/// Context of a SecretStore `team/<name>`.
pub fn context(name: &str) -> StoreContext {
    StoreContext {
        store: StoreId {
            kind: StoreKind::SecretStore,
            namespace: Some(NS.into()),
            name: name.into(),
        },
        reader_namespace: Some(NS.into()),
    }
}

/// A selector of Secret `name` key `key` (namespace left to the resolver).
pub fn secret_ref(name: &str, key: Option<&str>) -> SecretKeySelector {
    SecretKeySelector {
        name: name.into(),
        namespace: None,
        key: key.map(str::to_string),
    }
}

/// Credentials holding the given Secrets (`name -> key -> value`).
pub fn credentials(secrets: &[(&str, &[(&str, &str)])]) -> StaticCredentials {
    let mut creds = StaticCredentials::new();
    for (name, data) in secrets {
        let data: BTreeMap<String, SecretValue> = data
            .iter()
            .map(|(k, v)| (k.to_string(), SecretValue::from(*v)))
            .collect();
        creds.add_secret(Some(NS.into()), *name, data);
    }
    creds
}

/// A KV spec for `bao` with the given mount, version and auth.
pub fn spec(bao: &Bao, mount: &str, v2: bool, auth: VaultAuth) -> VaultSpec {
    VaultSpec {
        server: bao.addr(),
        path: Some(mount.into()),
        version: if v2 {
            secretsync_model::providers::VaultKvVersion::V2
        } else {
            secretsync_model::providers::VaultKvVersion::V1
        },
        auth: Some(auth),
        ..VaultSpec::default()
    }
}

/// Auth with the root token from Secret `vault-token` (key `token`).
pub fn root_token_auth(bao: &Bao) -> (VaultAuth, StaticCredentials) {
    (
        VaultAuth {
            token_secret_ref: Some(secret_ref("vault-token", None)),
            ..VaultAuth::default()
        },
        credentials(&[("vault-token", &[("token", bao.root_token().as_str())])]),
    )
}

/// Builds a provider.
pub fn provider(name: &str, spec: VaultSpec, creds: StaticCredentials) -> VaultProvider {
    provider_with_options(name, spec, creds, VaultOptions::default())
}

/// Builds a provider with the given options.
pub fn provider_with_options(
    name: &str,
    spec: VaultSpec,
    creds: StaticCredentials,
    options: VaultOptions,
) -> VaultProvider {
    VaultProvider::new(context(name), spec, Arc::new(creds), options).expect("valid store")
}

/// A ClusterSecretStore context `<name>` read from namespace [`NS`].
pub fn cluster_context(name: &str) -> StoreContext {
    StoreContext {
        store: StoreId {
            kind: StoreKind::ClusterSecretStore,
            namespace: None,
            name: name.into(),
        },
        reader_namespace: Some(NS.into()),
    }
}

/// Sets up AppRole `name` with `policy` at mount `approle`; returns (role_id, secret_id).
pub async fn approle(
    bao: &Bao,
    namespace: Option<&str>,
    name: &str,
    policy: &str,
) -> (String, String) {
    let _ = bao
        .try_api(
            namespace,
            &bao.root_token(),
            "POST",
            "sys/auth/approle",
            Some(serde_json::json!({"type": "approle"})),
        )
        .await;
    bao.api_ns(
        namespace,
        "POST",
        &format!("auth/approle/role/{name}"),
        Some(serde_json::json!({"token_policies": [policy], "token_ttl": "1h"})),
    )
    .await;
    let role_id = bao
        .api_ns(
            namespace,
            "GET",
            &format!("auth/approle/role/{name}/role-id"),
            None,
        )
        .await["data"]["role_id"]
        .as_str()
        .expect("role id")
        .to_string();
    let secret_id = bao
        .api_ns(
            namespace,
            "POST",
            &format!("auth/approle/role/{name}/secret-id"),
            None,
        )
        .await["data"]["secret_id"]
        .as_str()
        .expect("secret id")
        .to_string();
    (role_id, secret_id)
}

/// Policy reading everything below KV v2 mount `mount`.
pub fn read_policy(mount: &str) -> String {
    format!(
        "path \"{mount}/data/*\" {{ capabilities = [\"read\"] }}\n\
         path \"{mount}/metadata/*\" {{ capabilities = [\"read\", \"list\"] }}\n\
         path \"{mount}/*\" {{ capabilities = [\"read\", \"list\"] }}\n"
    )
}

/// The fetched value as a JSON object.
pub fn json(value: &SecretValue) -> serde_json::Value {
    serde_json::from_slice(value.expose()).expect("JSON value")
}

/// Enables `userpass` and creates user `sync` (password `pw`, policy `reader` on `kv2`).
pub async fn userpass_user_sync(bao: &Bao) {
    bao.put_policy("reader", &read_policy("kv2")).await;
    bao.api(
        "POST",
        "sys/auth/userpass",
        Some(serde_json::json!({"type": "userpass"})),
    )
    .await;
    bao.api(
        "POST",
        "auth/userpass/users/sync",
        Some(serde_json::json!({"password": "pw", "token_policies": ["reader"]})),
    )
    .await;
}
