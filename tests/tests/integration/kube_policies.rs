//! creationPolicy × deletionPolicy, table-driven: first sync, provider returning nothing, and
//! ExternalSecret deletion; plus "no write when nothing changed".

use crate::kube_support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams};
use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStore;
use serde_json::json;

#[derive(Debug, Clone, Copy)]
struct Case {
    creation: &'static str,
    deletion: &'static str,
    /// Secret exists after the first sync.
    created: bool,
    /// Controller ownerReference on the Secret.
    owned: bool,
    /// After the provider stops returning the key: (Secret exists, key still present, Ready reason).
    after_empty: (bool, bool, &'static str),
    /// Secret exists after the ExternalSecret is deleted.
    after_delete: bool,
}

const CASES: &[Case] = &[
    Case {
        creation: "Owner",
        deletion: "Retain",
        created: true,
        owned: true,
        after_empty: (true, true, "SecretSyncedError"),
        after_delete: false,
    },
    Case {
        creation: "Owner",
        deletion: "Delete",
        created: true,
        owned: true,
        after_empty: (false, false, "SecretDeleted"),
        after_delete: false,
    },
    Case {
        creation: "Owner",
        deletion: "Merge",
        created: true,
        owned: true,
        after_empty: (true, false, "SecretSynced"),
        after_delete: false,
    },
    Case {
        creation: "Orphan",
        deletion: "Retain",
        created: true,
        owned: false,
        after_empty: (true, true, "SecretSyncedError"),
        after_delete: true,
    },
    Case {
        creation: "Orphan",
        deletion: "Merge",
        created: true,
        owned: false,
        after_empty: (true, false, "SecretSynced"),
        after_delete: true,
    },
    Case {
        creation: "Merge",
        deletion: "Retain",
        created: true,
        owned: false,
        after_empty: (true, true, "SecretSyncedError"),
        after_delete: true,
    },
    Case {
        creation: "Merge",
        deletion: "Merge",
        created: true,
        owned: false,
        after_empty: (true, false, "SecretSynced"),
        after_delete: true,
    },
    Case {
        creation: "None",
        deletion: "Retain",
        created: false,
        owned: false,
        after_empty: (false, false, "SecretSyncedError"),
        after_delete: false,
    },
    Case {
        creation: "CreateOrMerge",
        deletion: "Retain",
        created: true,
        owned: false,
        after_empty: (true, true, "SecretSyncedError"),
        after_delete: true,
    },
    Case {
        creation: "CreateOrMerge",
        deletion: "Merge",
        created: true,
        owned: false,
        after_empty: (true, false, "SecretSynced"),
        after_delete: true,
    },
];

fn store(name: &str, class: &str, with_key: bool) -> serde_json::Value {
    let data = if with_key {
        json!([{"key": "remote-a", "value": "value-a"}])
    } else {
        json!([{"key": "unrelated", "value": "x"}])
    };
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": name},
        "spec": {"controller": class, "provider": {"fake": {"data": data}}}
    })
}

fn name_of(c: &Case) -> String {
    format!("{}-{}", c.creation, c.deletion).to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_and_deletion_policies() {
    let env = TestEnv::start("policies").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &ns);
    for c in CASES {
        let name = name_of(c);
        let _: SecretStore = env.apply(Some(&ns), store(&name, &class, true)).await;
        if c.creation == "Merge" {
            // Merge never creates: the target exists beforehand with a key of its own.
            let mut s = Secret::default();
            s.metadata.name = Some(name.clone());
            s.data = Some(BTreeMap::from([(
                "other".to_string(),
                ByteString(b"kept".to_vec()),
            )]));
            secrets
                .create(&PostParams::default(), &s)
                .await
                .expect("pre-create Merge target");
        }
    }
    let _operator = start_operator(&env, config);
    for c in CASES {
        let name = name_of(c);
        let _: ExternalSecret = env
            .apply(
                Some(&ns),
                json!({
                    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": name},
                    "spec": {
                        "refreshInterval": "1s",
                        "secretStoreRef": {"name": name, "kind": "SecretStore"},
                        "target": {"creationPolicy": c.creation, "deletionPolicy": c.deletion},
                        "data": [{"secretKey": "a", "remoteRef": {"key": "remote-a"}}]
                    }
                }),
            )
            .await;
    }

    // First sync.
    for c in CASES {
        let name = name_of(c);
        wait_for(
            Duration::from_secs(10),
            &format!("{name}: Ready=True"),
            || async { ready_of(&env, &ns, &name).await.filter(|r| r.0 == "True") },
        )
        .await;
        let secret = env.secret(&ns, &name).await;
        assert_eq!(
            secret.is_some(),
            c.created,
            "{c:?}: Secret exists after first sync"
        );
        if let Some(s) = secret {
            assert_eq!(value_of(&s, "a").as_deref(), Some("value-a"), "{c:?}");
            let owned = s
                .metadata
                .owner_references
                .unwrap_or_default()
                .iter()
                .any(|o| o.controller == Some(true));
            assert_eq!(owned, c.owned, "{c:?}: ownerReference");
            if c.creation == "Merge" {
                assert_eq!(
                    value_of(&env.secret(&ns, &name).await.expect("secret"), "other").as_deref(),
                    Some("kept")
                );
            }
        }
    }

    // No write when nothing changed: several refresh intervals pass, the provider is read, the
    // Secrets are not written.
    let owner = name_of(&CASES[0]);
    let rv_before = env
        .secret(&ns, &owner)
        .await
        .and_then(|s| s.metadata.resource_version);
    let writes_before = env.secret_writes();
    let calls_before = _operator
        .factory
        .calls
        .load(std::sync::atomic::Ordering::SeqCst);
    // Proof the operator had the chance to write: every ExternalSecret refreshed twice more
    // (each refresh reads the provider).
    let cycles = 2 * CASES.len() as u64;
    wait_for(
        Duration::from_secs(20),
        "two more refresh cycles",
        || async { (_operator.factory.calls() >= calls_before + cycles).then_some(()) },
    )
    .await;
    assert_eq!(
        env.secret(&ns, &owner)
            .await
            .and_then(|s| s.metadata.resource_version),
        rv_before
    );
    assert_eq!(
        env.secret_writes(),
        writes_before,
        "no Secret write while nothing changed"
    );

    // The provider stops returning the key.
    for c in CASES {
        let _: SecretStore = env
            .apply(Some(&ns), store(&name_of(c), &class, false))
            .await;
    }
    for c in CASES {
        let name = name_of(c);
        let (exists, has_key, reason) = c.after_empty;
        wait_for(
            Duration::from_secs(5),
            &format!("{name}: reason {reason}"),
            || async { ready_of(&env, &ns, &name).await.filter(|r| r.1 == reason) },
        )
        .await;
        let s = wait_for(
            Duration::from_secs(3),
            &format!("{name}: secret state after empty"),
            || async {
                let s = env.secret(&ns, &name).await;
                let ok = s.is_some() == exists
                    && s.as_ref().is_some_and(|s| value_of(s, "a").is_some()) == has_key;
                ok.then_some(s)
            },
        )
        .await;
        if let Some(s) = s
            && has_key
        {
            assert_eq!(
                value_of(&s, "a").as_deref(),
                Some("value-a"),
                "{c:?}: value kept byte for byte"
            );
        }
        if c.creation == "Merge" {
            assert_eq!(
                value_of(&env.secret(&ns, &name).await.expect("secret"), "other").as_deref(),
                Some("kept"),
                "{c:?}"
            );
        }
    }

    // ExternalSecret deletion.
    let es_api: Api<ExternalSecret> = Api::namespaced(env.client.clone(), &ns);
    for c in CASES {
        es_api
            .delete(&name_of(c), &DeleteParams::default())
            .await
            .expect("delete ExternalSecret");
    }
    for c in CASES {
        let name = name_of(c);
        wait_for(
            Duration::from_secs(5),
            &format!("{name}: ExternalSecret gone"),
            || async {
                es_api
                    .get_opt(&name)
                    .await
                    .ok()
                    .and_then(|o| o.is_none().then_some(()))
            },
        )
        .await;
        wait_for(
            Duration::from_secs(5),
            &format!(
                "{name}: Secret exists={} after ExternalSecret deletion",
                c.after_delete
            ),
            || async { (env.secret(&ns, &name).await.is_some() == c.after_delete).then_some(()) },
        )
        .await;
    }
    env.cleanup().await;
}

/// ESO's orphan cleanup: when `target.name` changes, the Secret the ExternalSecret created under
/// the old name is deleted once the new one exists. Covers both forms the managed-Secret cache
/// holds the `created-by` label in: the target of the ExternalSecret's own name, then one of
/// another name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_target_replaces_the_old_one() {
    let env = TestEnv::start("rename").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let _: SecretStore = env.apply(Some(&ns), store("rename", &class, true)).await;
    let _operator = start_operator(&env, config);
    let external_secret = |target: &str| {
        json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "app"},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": "rename", "kind": "SecretStore"},
                "target": {"name": target},
                "data": [{"secretKey": "a", "remoteRef": {"key": "remote-a"}}]
            }
        })
    };
    let mut previous: Option<&str> = None;
    for target in ["app", "app-v2", "app-v3"] {
        let _: ExternalSecret = env.apply(Some(&ns), external_secret(target)).await;
        let created = wait_for(
            Duration::from_secs(10),
            &format!("Secret {target}"),
            || async { env.secret(&ns, target).await },
        )
        .await;
        assert_eq!(value_of(&created, "a").as_deref(), Some("value-a"));
        if let Some(old) = previous {
            wait_for(
                Duration::from_secs(60),
                &format!("the old target {old} deleted after the rename to {target}"),
                || async { env.secret(&ns, old).await.is_none().then_some(()) },
            )
            .await;
        }
        previous = Some(target);
    }
    env.cleanup().await;
}
