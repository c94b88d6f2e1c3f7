//! Issue #14 through the operator: hostile templates (the crashers of the issue and the
//! heaviest of crates/template/tests/hostile/corpus.json) in one tenant's namespace. The
//! operator stays up, each of those ExternalSecrets is Ready=False with a message naming the
//! template field and the limit (never a value), and ExternalSecrets of another namespace,
//! created while the hostile ones keep failing and being retried, still sync.

use crate::kube_support;

use std::collections::BTreeMap;
use std::time::Duration;

use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::ClusterSecretStore;
use secretsync_testkit::hostile::{HostileTemplate, hostile_templates};
use serde_json::json;

const CANARY: &str = "canary-41d0-never-in-status";

/// Corpus entries run through the operator: the four crashers of issue #14 (the `printf` one
/// renders Go's `%!(BADWIDTH)`, so it is checked as a success) and the most expensive others.
const CASES: &[&str] = &[
    "until-min",
    "seq-min-step",
    "list-nesting",
    "range-huge",
    "printf-widths",
    "doubling-list-print",
    "doubling-dict-merge",
    "fromyaml-laughs",
    "self-recursion",
    "nested-ifs",
    "regex-findall-empty",
    "uniq-quadratic",
];

fn cases() -> Vec<HostileTemplate> {
    let cases: Vec<HostileTemplate> = hostile_templates()
        .into_iter()
        .filter(|c| CASES.contains(&c.name.as_str()))
        .collect();
    assert_eq!(cases.len(), CASES.len(), "every case is in the corpus");
    cases
}

fn external_secret(store: &str, name: &str, template: &str) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": store, "kind": "ClusterSecretStore"},
            "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}],
            "target": {"template": {"data": {"value": template}}}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_templates_fail_their_external_secret_and_nothing_else() {
    let mut env = TestEnv::start("hostile").await;
    let tenant = env.create_namespace("tenant", BTreeMap::new()).await;
    let other = env.create_namespace("other", BTreeMap::new()).await;
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let store = format!("fake-{}", env.suffix);
    let _: ClusterSecretStore = env
        .apply(
            None,
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
                "metadata": {"name": store},
                "spec": {
                    "controller": class,
                    "provider": {"fake": {"data": [{"key": "db", "value": CANARY}]}}
                }
            }),
        )
        .await;
    let _operator = start_operator(&env, config);

    let cases = cases();
    for case in &cases {
        let _: ExternalSecret = env
            .apply(
                Some(&tenant),
                external_secret(&store, &case.name, &case.template),
            )
            .await;
    }
    let printf = "printf-star-min";
    let _: ExternalSecret = env
        .apply(
            Some(&tenant),
            external_secret(
                &store,
                printf,
                r#"{{ printf "%*d" -9223372036854775808 0 }}"#,
            ),
        )
        .await;

    for case in &cases {
        let fragment = case.error.as_deref().expect("an error case");
        let (_, reason, message) = wait_for(
            Duration::from_secs(60),
            &format!("{}: Ready=False", case.name),
            || async {
                // Before its store is validated, an ExternalSecret waits (Ready=False too).
                ready_of(&env, &tenant, &case.name)
                    .await
                    .filter(|r| r.0 == "False" && r.2.contains("spec.target.template"))
            },
        )
        .await;
        assert_eq!(reason, "SecretSyncedError", "{}: {message}", case.name);
        assert!(
            message.contains("spec.target.template.data") && message.contains(fragment),
            "{}: the status names the field and the limit: {message}",
            case.name
        );
        assert!(
            !message.contains(CANARY),
            "{}: a value leaked: {message}",
            case.name
        );
        assert!(env.secret(&tenant, &case.name).await.is_none());
    }
    let secret = wait_for(Duration::from_secs(30), "printf Secret", || async {
        env.secret(&tenant, printf).await
    })
    .await;
    assert_eq!(
        value_of(&secret, "value").as_deref(),
        Some("%!(BADWIDTH)0"),
        "Go's output for a width out of range"
    );

    // The hostile ExternalSecrets keep failing and being retried; another namespace's
    // ExternalSecret created now still syncs, so the operator is up and not starved.
    let _: ExternalSecret = env
        .apply(
            Some(&other),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "app"},
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": {"name": store, "kind": "ClusterSecretStore"},
                    "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}],
                    "target": {"template": {"data": {"greeting": "hello {{ len .password }}"}}}
                }
            }),
        )
        .await;
    let secret = wait_for(Duration::from_secs(30), "other/app Secret", || async {
        env.secret(&other, "app").await
    })
    .await;
    assert_eq!(
        value_of(&secret, "greeting"),
        Some(format!("hello {}", CANARY.len()))
    );
    wait_for(Duration::from_secs(30), "other/app Ready=True", || async {
        ready_of(&env, &other, "app")
            .await
            .filter(|r| r.0 == "True")
    })
    .await;
    env.cleanup().await;
}
