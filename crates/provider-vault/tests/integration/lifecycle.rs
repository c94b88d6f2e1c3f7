//! Token lifecycle against a real OpenBao dev server: one login per store (counted from the
//! audit log), single-flight logins, renewal, replacement of revoked/expired tokens,
//! revocation on close, outages, and secrets never reaching errors or `Debug`.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use secretsync_model::ProviderError;
use secretsync_model::provider::{FetchRequest, SecretProvider};
use secretsync_model::providers::{VaultAppRole, VaultAuth, VaultUserPassAuth};
use secretsync_provider_support::ManualClock;
use secretsync_provider_vault::{VaultOptions, VaultProvider};
use serde_json::json;
use support::*;

const APPROLE_LOGIN: &str = "auth/approle/login";

async fn approle_provider(bao: &Bao, name: &str, ttl: &str, max_ttl: &str) -> VaultProvider {
    approle_provider_with(bao, name, ttl, max_ttl, VaultOptions::default()).await
}

async fn approle_provider_with(
    bao: &Bao,
    name: &str,
    ttl: &str,
    max_ttl: &str,
    options: VaultOptions,
) -> VaultProvider {
    bao.put_policy("reader", &read_policy("kv2")).await;
    let _ = bao
        .try_api(
            None,
            &bao.root_token(),
            "POST",
            "sys/auth/approle",
            Some(json!({"type": "approle"})),
        )
        .await;
    bao.api(
        "POST",
        "auth/approle/role/sync",
        Some(json!({"token_policies": ["reader"], "token_ttl": ttl, "token_max_ttl": max_ttl})),
    )
    .await;
    let role_id = bao.api("GET", "auth/approle/role/sync/role-id", None).await["data"]["role_id"]
        .as_str()
        .expect("role id")
        .to_string();
    let secret_id = bao
        .api("POST", "auth/approle/role/sync/secret-id", None)
        .await["data"]["secret_id"]
        .as_str()
        .expect("secret id")
        .to_string();
    let auth = VaultAuth {
        app_role: Some(VaultAppRole {
            path: "approle".into(),
            role_id: Some(role_id),
            role_ref: None,
            secret_ref: secret_ref("approle", Some("secret-id")),
        }),
        ..VaultAuth::default()
    };
    provider_with_options(
        name,
        spec(bao, "kv2", true, auth),
        credentials(&[("approle", &[("secret-id", secret_id.as_str())])]),
        options,
    )
}

/// Whether OpenBao still knows the token with this accessor.
async fn accessor_is_valid(bao: &Bao, accessor: &str) -> bool {
    let (status, _) = bao
        .try_api(
            None,
            &bao.root_token(),
            "POST",
            "auth/token/lookup-accessor",
            Some(json!({"accessor": accessor})),
        )
        .await;
    status < 300
}

/// Revokes every non-root token (as an operator would), via their accessors.
async fn revoke_all_login_tokens(bao: &Bao) -> usize {
    let list = bao.api("LIST", "auth/token/accessors", None).await;
    let mut revoked = 0;
    for accessor in list["data"]["keys"].as_array().expect("accessors") {
        let accessor = accessor.as_str().expect("accessor");
        let info = bao
            .api(
                "POST",
                "auth/token/lookup-accessor",
                Some(json!({"accessor": accessor})),
            )
            .await;
        if info["data"]["policies"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p == "root"))
        {
            continue;
        }
        bao.api(
            "POST",
            "auth/token/revoke-accessor",
            Some(json!({"accessor": accessor})),
        )
        .await;
        revoked += 1;
    }
    revoked
}

#[tokio::test]
async fn thousand_keys_one_login_then_revoked_token_is_replaced() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    for i in 0..1000 {
        bao.put_v2("kv2", &format!("bulk/k{i:04}"), json!({"i": i}))
            .await;
    }
    let p = Arc::new(approle_provider(&bao, "bulk", "1h", "4h").await);

    // 1,000 reads, 64 at a time, all starting together: one login
    let results: Vec<_> = futures::stream::iter(0..1000)
        .map(|i| {
            let p = p.clone();
            async move {
                (
                    i,
                    p.fetch(&FetchRequest::latest(format!("bulk/k{i:04}")))
                        .await,
                )
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for (i, r) in &results {
        let v = r.as_ref().expect("read");
        assert_eq!(json(&v.value), json!({"i": i}));
    }
    assert_eq!(p.login_count(), 1, "provider counter");
    assert_eq!(bao.audit_requests(APPROLE_LOGIN), 1, "OpenBao audit log");
    assert_eq!(bao.audit_operations("kv2/data/bulk/k0999", "read"), 1);

    // an operator revokes the token: the next read logs in once more and succeeds
    assert_eq!(revoke_all_login_tokens(&bao).await, 1);
    let got = p
        .fetch(&FetchRequest::latest("bulk/k0001"))
        .await
        .expect("after revoke");
    assert_eq!(json(&got.value), json!({"i": 1}));
    assert_eq!(p.login_count(), 2);
    assert_eq!(bao.audit_requests(APPROLE_LOGIN), 2);

    // concurrent callers hitting the revoked token share one re-login
    revoke_all_login_tokens(&bao).await;
    let results: Vec<_> = futures::stream::iter(0..32)
        .map(|i| {
            let p = p.clone();
            async move {
                p.fetch(&FetchRequest::latest(format!("bulk/k{i:04}")))
                    .await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(bao.audit_requests(APPROLE_LOGIN), 3);

    // close revokes the token
    p.close().await;
    // OpenBao 2.7 writes two request entries per revoke-self call (checked with curl)
    assert!(bao.audit_requests("auth/token/revoke-self") >= 1);
    assert_eq!(
        revoke_all_login_tokens(&bao).await,
        0,
        "no live token after close"
    );
}

#[tokio::test]
async fn policy_denial_does_not_trigger_logins() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "ok", json!({"a": "b"})).await;
    let p = approle_provider(&bao, "deny", "1h", "4h").await;
    bao.put_policy(
        "reader",
        "path \"kv2/data/ok\" { capabilities = [\"read\"] }",
    )
    .await;
    bao.put_v2("kv2", "no", json!({"a": "b"})).await;
    p.fetch(&FetchRequest::latest("ok")).await.expect("allowed");
    let err = p
        .fetch(&FetchRequest::latest("no"))
        .await
        .expect_err("denied");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");
    assert_eq!(p.login_count(), 1);
}

#[tokio::test]
async fn tokens_are_renewed_by_the_shared_rule_and_replaced_tokens_are_revoked() {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "r", json!({"a": "b"})).await;
    // Time is the provider's injected clock: with a 1 h TTL the renewal rule (a quarter of the
    // lifetime before expiry, at most 5 minutes) makes the token due after 55 minutes.
    let clock = ManualClock::new();
    let options = VaultOptions {
        clock: clock.shared(),
        ..VaultOptions::default()
    };
    let p = approle_provider_with(&bao, "renew", "1h", "4h", options).await;
    p.fetch(&FetchRequest::latest("r")).await.expect("first");
    assert_eq!((p.login_count(), p.renewal_count()), (1, 0));
    let first = p.token_accessor().expect("login returns an accessor");

    clock.advance(Duration::from_secs(54 * 60));
    p.fetch(&FetchRequest::latest("r"))
        .await
        .expect("still fresh");
    assert_eq!((p.login_count(), p.renewal_count()), (1, 0));

    clock.advance(Duration::from_secs(2 * 60));
    p.fetch(&FetchRequest::latest("r")).await.expect("renewed");
    assert_eq!((p.login_count(), p.renewal_count()), (1, 1));
    assert_eq!(bao.audit_requests("auth/token/renew-self"), 1);
    assert_eq!(p.token_accessor().as_deref(), Some(first.as_str()));

    // Idle past the token's expiry (by the provider's clock): a new login instead of a
    // renewal, and the replaced token is revoked at once rather than left to expire.
    clock.advance(Duration::from_secs(2 * 3600));
    p.fetch(&FetchRequest::latest("r")).await.expect("re-login");
    assert_eq!((p.login_count(), p.renewal_count()), (2, 1));
    assert_eq!(bao.audit_requests(APPROLE_LOGIN), 2);
    let second = p.token_accessor().expect("accessor");
    assert_ne!(second, first);
    assert!(
        !accessor_is_valid(&bao, &first).await,
        "the replaced token is revoked"
    );
    assert!(accessor_is_valid(&bao, &second).await);

    // close revokes the token in use; a closed provider logs in no more
    p.close().await;
    assert!(!accessor_is_valid(&bao, &second).await, "revoked on close");
    let err = p
        .fetch(&FetchRequest::latest("r"))
        .await
        .expect_err("closed");
    assert!(err.to_string().contains("closed"), "{err}");
    assert_eq!(p.login_count(), 2);
}

async fn seed_userpass(bao: &Bao) {
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "svc", json!({"up": "yes"})).await;
    userpass_user_sync(bao).await;
}

#[tokio::test]
async fn outage_reports_unavailable_and_recovers_after_restart() {
    let mut bao = Bao::start().await;
    seed_userpass(&bao).await;
    let auth = VaultAuth {
        user_pass: Some(VaultUserPassAuth {
            path: "userpass".into(),
            username: "sync".into(),
            secret_ref: secret_ref("sync", Some("password")),
        }),
        ..VaultAuth::default()
    };
    let p = provider(
        "outage",
        spec(&bao, "kv2", true, auth),
        credentials(&[("sync", &[("password", "pw")])]),
    );
    p.fetch(&FetchRequest::latest("svc")).await.expect("before");

    bao.stop().await;
    for _ in 0..3 {
        let err = p
            .fetch(&FetchRequest::latest("svc"))
            .await
            .expect_err("down");
        assert!(matches!(err, ProviderError::Unavailable(_)), "{err}");
        assert!(err.is_transient());
        assert!(err.to_string().contains("svc"), "{err}");
    }

    // dev mode restarts empty: re-seed; the old token is unknown and is replaced transparently
    bao.restart().await;
    seed_userpass(&bao).await;
    let got = p
        .fetch(&FetchRequest::latest("svc"))
        .await
        .expect("after restart");
    assert_eq!(json(&got.value), json!({"up": "yes"}));
    assert_eq!(p.login_count(), 2);
}

#[tokio::test]
async fn canaries_never_reach_errors_or_debug_output() {
    const CANARY: &str = "CANARY-7f3a9c";
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    bao.enable_kv("private", 2).await;
    bao.put_v2("kv2", "c", json!({"secret": CANARY})).await;
    bao.put_v2("private", "c", json!({"secret": CANARY})).await;
    bao.put_policy("reader", &read_policy("kv2")).await;
    bao.api(
        "POST",
        "sys/auth/userpass",
        Some(json!({"type": "userpass"})),
    )
    .await;
    bao.api(
        "POST",
        "auth/userpass/users/u",
        Some(json!({"password": CANARY, "token_policies": ["reader"]})),
    )
    .await;

    let mut texts = Vec::new();
    let userpass = |password: &str| {
        let auth = VaultAuth {
            user_pass: Some(VaultUserPassAuth {
                path: "userpass".into(),
                username: "u".into(),
                secret_ref: secret_ref("u", Some("password")),
            }),
            ..VaultAuth::default()
        };
        provider(
            "canary",
            spec(&bao, "kv2", true, auth),
            credentials(&[("u", &[("password", password)])]),
        )
    };
    let p = userpass(CANARY);
    let ok = p.fetch(&FetchRequest::latest("c")).await.expect("read");
    assert!(
        ok.value.expose_str().is_some_and(|v| v.contains(CANARY)),
        "value is read"
    );
    texts.push(format!("{ok:?}"));
    texts.push(format!("{p:?}"));
    for key in ["private/data/c", "missing", "c"] {
        for version in [None, Some("7")] {
            let req = FetchRequest {
                key: key.into(),
                version: version.map(str::to_string),
                metadata: false,
            };
            if let Err(e) = p.fetch(&req).await {
                texts.push(e.to_string());
                texts.push(format!("{e:?}"));
            }
        }
    }
    // wrong password that contains the canary
    let bad = userpass(&format!("{CANARY}-wrong"));
    let e = bad
        .fetch(&FetchRequest::latest("c"))
        .await
        .expect_err("denied");
    texts.push(e.to_string());
    texts.push(format!("{e:?} {bad:?}"));
    // a canary token
    let (auth, _) = root_token_auth(&bao);
    let t = provider(
        "canary-token",
        spec(&bao, "kv2", true, auth),
        credentials(&[("vault-token", &[("token", CANARY)])]),
    );
    let e = t
        .fetch(&FetchRequest::latest("c"))
        .await
        .expect_err("bad token");
    texts.push(e.to_string());
    texts.push(format!("{e:?} {t:?}"));
    // a canary environment token in the options
    let options = secretsync_provider_vault::VaultOptions {
        environment_token: Some(CANARY.to_string().into()),
        ..Default::default()
    };
    texts.push(format!("{options:?}"));

    assert!(texts.len() >= 8, "errors were produced: {texts:?}");
    for text in &texts {
        assert!(!text.contains(CANARY), "canary leaked: {text}");
    }
}
