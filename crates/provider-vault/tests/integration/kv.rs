//! KV reads against a real OpenBao dev server: v1, v2, versions, metadata, find, namespaces,
//! headers.

use crate::support;

use std::collections::BTreeMap;

use secretsync_model::ProviderError;
use secretsync_model::provider::{FetchRequest, FindRequest, SecretProvider};
use serde_json::json;
use support::*;

#[tokio::test]
async fn kv_v2_latest_version_and_raw_json() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "app/db", json!({"user": "u1", "password": "p1"}))
        .await;
    bao.put_v2(
        "kv2",
        "app/db",
        json!({"user": "u2", "password": "p2", "nested": {"a": 1}}),
    )
    .await;
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("v2", spec(&bao, "kv2", true, auth), creds);

    let latest = p
        .fetch(&FetchRequest::latest("app/db"))
        .await
        .expect("latest");
    assert_eq!(latest.version.as_deref(), Some("2"));
    assert_eq!(
        json(&latest.value),
        json!({"user": "u2", "password": "p2", "nested": {"a": 1}})
    );

    let v1 = p
        .fetch(&FetchRequest {
            key: "app/db".into(),
            version: Some("1".into()),
            metadata: false,
        })
        .await
        .expect("version 1");
    assert_eq!(v1.version.as_deref(), Some("1"));
    assert_eq!(json(&v1.value), json!({"user": "u1", "password": "p1"}));

    // the key may repeat the mount (and data/), as in ESO
    let same = p
        .fetch(&FetchRequest::latest("kv2/data/app/db"))
        .await
        .expect("mount prefix");
    assert_eq!(json(&same.value)["user"], "u2");

    let missing = p
        .fetch(&FetchRequest::latest("app/none"))
        .await
        .expect_err("missing");
    assert!(matches!(missing, ProviderError::NotFound(_)), "{missing}");
    assert!(missing.to_string().contains("app/none"), "{missing}");
    assert!(
        missing.to_string().contains("SecretStore team/v2"),
        "{missing}"
    );

    let no_version = p
        .fetch(&FetchRequest {
            key: "app/db".into(),
            version: Some("9".into()),
            metadata: false,
        })
        .await
        .expect_err("missing version");
    assert!(
        matches!(no_version, ProviderError::NotFound(_)),
        "{no_version}"
    );
}

#[tokio::test]
async fn kv_v2_without_store_path_takes_the_mount_from_the_key() {
    let bao = Bao::start().await;
    bao.enable_kv("apps", 2).await;
    bao.put_v2("apps", "web/cfg", json!({"k": "v"})).await;
    let (auth, creds) = root_token_auth(&bao);
    let mut s = spec(&bao, "unused", true, auth);
    s.path = None;
    let p = provider("nopath", s, creds);
    let got = p
        .fetch(&FetchRequest::latest("apps/web/cfg"))
        .await
        .expect("read");
    assert_eq!(json(&got.value), json!({"k": "v"}));
}

#[tokio::test]
async fn kv_v1_reads_and_rejects_metadata() {
    let bao = Bao::start().await;
    bao.enable_kv("kv1", 1).await;
    bao.api("POST", "kv1/app/db", Some(json!({"user": "u", "n": 5})))
        .await;
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("v1", spec(&bao, "kv1", false, auth), creds);
    let got = p
        .fetch(&FetchRequest::latest("app/db"))
        .await
        .expect("read v1");
    assert_eq!(json(&got.value), json!({"user": "u", "n": 5}));
    assert_eq!(got.version, None);
    let meta = p
        .fetch(&FetchRequest {
            key: "app/db".into(),
            version: None,
            metadata: true,
        })
        .await
        .expect_err("no metadata on v1");
    assert!(matches!(meta, ProviderError::Unsupported(_)), "{meta}");
    let found = p
        .find(&FindRequest {
            path: Some("app".into()),
            name_regexp: Some("db".into()),
            tags: BTreeMap::new(),
        })
        .await
        .expect("find on v1");
    assert_eq!(found.keys().collect::<Vec<_>>(), vec!["app/db"]);
}

#[tokio::test]
async fn metadata_fetch_returns_custom_metadata() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "tagged", json!({"v": "x"})).await;
    bao.api(
        "POST",
        "kv2/metadata/tagged",
        Some(json!({"custom_metadata": {"team": "blue", "env": "prod"}})),
    )
    .await;
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("meta", spec(&bao, "kv2", true, auth), creds);
    let got = p
        .fetch(&FetchRequest {
            key: "tagged".into(),
            version: None,
            metadata: true,
        })
        .await
        .expect("metadata");
    let m = json(&got.value);
    assert_eq!(m["team"], "blue");
    assert_eq!(m["env"], "prod");
    assert_eq!(m["current_version"], "1");
    assert!(m.get("v").is_none(), "metadata must not contain data: {m}");
}

#[tokio::test]
async fn find_by_name_and_by_tags_lists_recursively() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    for (key, team) in [
        ("svc/a/db", "blue"),
        ("svc/a/cache", "red"),
        ("svc/b/db", "blue"),
        ("other/db", "blue"),
    ] {
        bao.put_v2("kv2", key, json!({"key": key})).await;
        bao.api(
            "POST",
            &format!("kv2/metadata/{key}"),
            Some(json!({"custom_metadata": {"team": team}})),
        )
        .await;
    }
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("find", spec(&bao, "kv2", true, auth), creds);

    let by_name = p
        .find(&FindRequest {
            path: None,
            name_regexp: Some("db$".into()),
            tags: BTreeMap::new(),
        })
        .await
        .expect("find by name");
    assert_eq!(
        by_name.keys().cloned().collect::<Vec<_>>(),
        vec!["other/db", "svc/a/db", "svc/b/db"]
    );
    assert_eq!(json(&by_name["svc/b/db"].value), json!({"key": "svc/b/db"}));

    let under_path = p
        .find(&FindRequest {
            path: Some("svc".into()),
            name_regexp: Some(".*".into()),
            tags: BTreeMap::new(),
        })
        .await
        .expect("find under path");
    assert_eq!(
        under_path.keys().cloned().collect::<Vec<_>>(),
        vec!["svc/a/cache", "svc/a/db", "svc/b/db"]
    );

    let by_tags = p
        .find(&FindRequest {
            path: Some("svc".into()),
            name_regexp: None,
            tags: BTreeMap::from([("team".to_string(), "blue".to_string())]),
        })
        .await
        .expect("find by tags");
    assert_eq!(
        by_tags.keys().cloned().collect::<Vec<_>>(),
        vec!["svc/a/db", "svc/b/db"]
    );

    let bad = p
        .find(&FindRequest {
            path: None,
            name_regexp: Some("(".into()),
            tags: BTreeMap::new(),
        })
        .await
        .expect_err("bad regexp");
    assert!(bad.to_string().contains("find.name.regexp"), "{bad}");
}

#[tokio::test]
async fn namespaces_are_sent_for_reads_and_logins() {
    let bao = Bao::start().await;
    bao.api("POST", "sys/namespaces/ns1", None).await;
    bao.api_ns(
        Some("ns1"),
        "POST",
        "sys/mounts/kv2",
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    )
    .await;
    bao.api_ns(
        Some("ns1"),
        "POST",
        "kv2/data/app",
        Some(json!({"data": {"in": "ns1"}})),
    )
    .await;
    bao.api_ns(
        Some("ns1"),
        "PUT",
        "sys/policies/acl/reader",
        Some(json!({"policy": read_policy("kv2")})),
    )
    .await;
    let (role_id, secret_id) = approle(&bao, Some("ns1"), "reader", "reader").await;

    // root token, store namespace ns1
    let (auth, creds) = root_token_auth(&bao);
    let mut s = spec(&bao, "kv2", true, auth);
    s.namespace = Some("ns1".into());
    let p = provider("ns-token", s, creds);
    let got = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect("read in ns1");
    assert_eq!(json(&got.value), json!({"in": "ns1"}));

    // without the namespace the mount does not exist
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("no-ns", spec(&bao, "kv2", true, auth), creds);
    assert!(p.fetch(&FetchRequest::latest("app")).await.is_err());

    // AppRole living in ns1, logged in through auth.namespace
    let auth = secretsync_model::providers::VaultAuth {
        namespace: Some("ns1".into()),
        app_role: Some(secretsync_model::providers::VaultAppRole {
            path: "approle".into(),
            role_id: Some(role_id),
            role_ref: None,
            secret_ref: secret_ref("approle", Some("secret-id")),
        }),
        ..Default::default()
    };
    let creds = credentials(&[("approle", &[("secret-id", secret_id.as_str())])]);
    let mut s = spec(&bao, "kv2", true, auth);
    s.namespace = Some("ns1".into());
    let p = provider("ns-approle", s, creds);
    let got = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect("approle in ns1");
    assert_eq!(json(&got.value), json!({"in": "ns1"}));
    assert_eq!(p.login_count(), 1);
}

#[tokio::test]
async fn custom_and_consistency_headers_are_sent() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "h", json!({"a": "b"})).await;
    for header in ["x-custom-team", "x-vault-inconsistent"] {
        bao.api(
            "POST",
            &format!("sys/config/auditing/request-headers/{header}"),
            Some(json!({"hmac": false})),
        )
        .await;
    }
    let (auth, creds) = root_token_auth(&bao);
    let mut s = spec(&bao, "kv2", true, auth);
    s.headers = BTreeMap::from([("X-Custom-Team".to_string(), "blue".to_string())]);
    s.read_your_writes = true;
    s.forward_inconsistent = true;
    let p = provider("headers", s, creds);
    p.fetch(&FetchRequest::latest("h")).await.expect("read");
    let log = std::fs::read_to_string(bao.audit_log()).expect("audit log");
    let entry: serde_json::Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| {
            e["type"] == "request"
                && e["request"]["path"] == "kv2/data/h"
                && e["request"]["operation"] == "read"
        })
        .expect("audited read");
    let headers = &entry["request"]["headers"];
    assert_eq!(headers["x-custom-team"], json!(["blue"]), "{entry}");
    assert_eq!(
        headers["x-vault-inconsistent"],
        json!(["forward-active-node"]),
        "{entry}"
    );
}
