//! Error taxonomy and read limits against OpenBao: only "this secret does not exist" is
//! `NotFound`; a missing credential, a denial, an auth path or mount that does not exist are
//! errors that must leave target Secrets alone. Plus ESO's `openBao` block.

use crate::support;

use std::sync::Arc;

use secretsync_model::ProviderError;
use secretsync_model::provider::{FetchRequest, FindRequest, SecretProvider};
use secretsync_model::providers::{OpenBaoAuth, OpenBaoSpec, VaultAuth, VaultUserPassAuth};
use secretsync_provider_support::ReadLimits;
use secretsync_provider_vault::{VaultOptions, VaultProvider};
use serde_json::json;
use support::*;

async fn seeded() -> Bao {
    let bao = Bao::start().await;
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "app/db", json!({"user": "u"})).await;
    userpass_user_sync(&bao).await;
    bao
}

fn userpass(path: &str, password_secret: &str) -> VaultAuth {
    VaultAuth {
        user_pass: Some(VaultUserPassAuth {
            path: path.into(),
            username: "sync".into(),
            secret_ref: secret_ref(password_secret, Some("password")),
        }),
        ..VaultAuth::default()
    }
}

fn userpass_in(namespace: &str) -> VaultAuth {
    VaultAuth {
        namespace: Some(namespace.into()),
        ..userpass("userpass", "up")
    }
}

#[tokio::test]
async fn only_a_missing_secret_is_not_found() {
    let bao = seeded().await;
    let root = bao.root_token();
    let creds = || {
        credentials(&[
            ("up", &[("password", "pw")]),
            ("root", &[("token", root.as_str())]),
        ])
    };
    let root_auth = VaultAuth {
        token_secret_ref: Some(secret_ref("root", None)),
        ..VaultAuth::default()
    };
    // (case, mount, auth, key, expected kind)
    let cases = [
        ("present", "kv2", userpass("userpass", "up"), "app/db", None),
        (
            "missing secret",
            "kv2",
            userpass("userpass", "up"),
            "app/none",
            Some("NotFound"),
        ),
        // a token allowed everywhere gets Vault's 404 "no handler for route"
        (
            "missing mount",
            "nomount",
            root_auth.clone(),
            "app/db",
            Some("InvalidStoreConfig"),
        ),
        // OpenBao answers a login in a namespace that does not exist with 404
        (
            "auth path 404",
            "kv2",
            userpass_in("nope"),
            "app/db",
            Some("InvalidStoreConfig"),
        ),
        (
            "missing namespace",
            "kv2",
            root_auth.clone(),
            "app/db",
            Some("InvalidStoreConfig"),
        ),
        (
            "missing credential Secret",
            "kv2",
            userpass("userpass", "absent"),
            "app/db",
            Some("InvalidStoreConfig"),
        ),
        (
            "denied",
            "kv2",
            userpass("userpass", "up"),
            "secret/x",
            Some("PermissionDenied"),
        ),
    ];
    for (case, mount, auth, key, want) in cases {
        let mut s = spec(&bao, mount, true, auth);
        if case == "denied" {
            s.path = None; // `secret/x`: the dev server's own mount, not in the policy
        }
        if case == "missing namespace" {
            s.namespace = Some("nope".into());
        }
        let p = provider(case, s, creds());
        let got = p.fetch(&FetchRequest::latest(key)).await;
        match (want, got) {
            (None, Ok(_)) => {}
            (Some(kind), Err(e)) => assert_eq!(e.kind_label(), kind, "{case}: {e}"),
            (want, got) => panic!("{case}: expected {want:?}, got {got:?}"),
        }
    }
}

#[tokio::test]
async fn limits_bound_bodies_lists_and_finds() {
    let bao = seeded().await;
    bao.put_v2("kv2", "big", json!({"blob": "x".repeat(64 * 1024)}))
        .await;
    for key in ["deep/a/b/c/leaf", "many/k1", "many/k2", "many/k3"] {
        bao.put_v2("kv2", key, json!({"v": 1})).await;
    }
    let (auth, creds) = root_token_auth(&bao);
    let limited = |limits: ReadLimits| {
        provider_with_options(
            "limits",
            spec(&bao, "kv2", true, auth.clone()),
            creds.clone(),
            VaultOptions {
                limits,
                ..VaultOptions::default()
            },
        )
    };
    let defaults = ReadLimits::default();

    let p = limited(ReadLimits {
        max_response_bytes: 16 * 1024,
        ..defaults
    });
    p.fetch(&FetchRequest::latest("app/db"))
        .await
        .expect("small");
    let e = p
        .fetch(&FetchRequest::latest("big"))
        .await
        .expect_err("too large");
    assert!(
        e.to_string().contains("--provider-max-response-bytes"),
        "{e}"
    );

    let find = |path: &str| FindRequest {
        path: Some(path.into()),
        name_regexp: Some(".*".into()),
        tags: Default::default(),
    };
    let p = limited(ReadLimits {
        max_list_depth: 2,
        ..defaults
    });
    let e = p.find(&find("deep")).await.expect_err("too deep");
    assert!(e.to_string().contains("--provider-max-list-depth"), "{e}");
    assert_eq!(p.find(&find("many")).await.expect("shallow").len(), 3);

    let p = limited(ReadLimits {
        max_find_results: 2,
        ..defaults
    });
    let e = p.find(&find("many")).await.expect_err("too many");
    assert!(e.to_string().contains("--provider-max-find-results"), "{e}");
    assert_eq!(
        bao.audit_operations("kv2/data/many/k1", "read"),
        1,
        "only the earlier uncapped find read the secrets"
    );

    let p = limited(ReadLimits {
        max_list_pages: 2,
        ..defaults
    });
    let e = p
        .find(&find("deep"))
        .await
        .expect_err("too many LIST calls");
    assert!(e.to_string().contains("--provider-max-list-pages"), "{e}");
}

/// ESO v2.7's `provider.openBao` block, served by the Vault provider: mount `kv` by default,
/// messages name `spec.provider.openBao`.
#[tokio::test]
async fn eso_openbao_block_reads_with_its_defaults() {
    let bao = Bao::start().await;
    bao.enable_kv("kv", 2).await;
    bao.put_v2("kv", "app", json!({"from": "openBao"})).await;
    let spec = OpenBaoSpec {
        server: bao.addr(),
        auth: Some(OpenBaoAuth {
            token_secret_ref: Some(secret_ref("bao-token", Some("token"))),
            ..OpenBaoAuth::default()
        }),
        ..OpenBaoSpec::default()
    };
    let creds = credentials(&[("bao-token", &[("token", bao.root_token().as_str())])]);
    let p = VaultProvider::new_openbao(
        context("bao"),
        &spec,
        Arc::new(creds),
        VaultOptions::default(),
    )
    .expect("provider");
    let got = p.fetch(&FetchRequest::latest("app")).await.expect("read");
    assert_eq!(json(&got.value), json!({"from": "openBao"}));
    let e = p
        .fetch(&FetchRequest::latest("none"))
        .await
        .expect_err("missing");
    assert!(matches!(e, ProviderError::NotFound(_)), "{e}");
    assert!(
        e.to_string()
            .starts_with("not found: OpenBao SecretStore team/bao"),
        "{e}"
    );

    let bad = OpenBaoSpec {
        server: "not a url".into(),
        ..spec
    };
    let e = VaultProvider::new_openbao(
        context("bao"),
        &bad,
        Arc::new(credentials(&[])),
        VaultOptions::default(),
    )
    .expect_err("bad server");
    assert!(
        e.to_string().contains("spec.provider.openBao.server"),
        "{e}"
    );
}
