//! Generators through the operator on the Kubernetes API (double, or a real cluster): Password
//! and UUID values with the requested properties land in the Secret; with `refreshInterval: 0`
//! they never change across an operator restart (kept in the Secret, not regenerated), while a
//! periodic one is regenerated; an unimplemented kind says so in the status.

use crate::kube_support;

use std::time::Duration;

use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::generator::{Password, StsSessionToken, Uuid};
use secretsync_model::secret_store::SecretStore;
use serde_json::json;

fn external_secret(name: &str, interval: &str, generators: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": interval,
            // The store only selects this test's operator (controller class).
            "secretStoreRef": {"name": "gen", "kind": "SecretStore"},
            "data": [{"secretKey": "user", "remoteRef": {"key": "user"}}],
            "dataFrom": generators
        }
    })
}

async fn values(env: &TestEnv, name: &str) -> Option<(String, String)> {
    let s = env.secret(&env.namespace, name).await?;
    Some((value_of(&s, "password")?, value_of(&s, "uuid")?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_values_have_their_properties_and_survive_a_restart() {
    let env = TestEnv::start("generators").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let _: SecretStore = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": "gen"},
                "spec": {"controller": class, "provider": {"fake": {"data": [
                    {"key": "user", "value": "app"}
                ]}}}
            }),
        )
        .await;
    let _: Password = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password",
                "metadata": {"name": "pw"},
                "spec": {"length": 40, "digits": 8, "symbols": 4,
                         "symbolCharacters": "-_.", "allowRepeat": true, "noUpper": true}
            }),
        )
        .await;
    let _: Uuid = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "UUID",
                "metadata": {"name": "id"}, "spec": {}
            }),
        )
        .await;
    let _: StsSessionToken = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "generators.external-secrets.io/v1alpha1",
                "kind": "STSSessionToken",
                "metadata": {"name": "sts"}, "spec": {"region": "eu-west-1"}
            }),
        )
        .await;
    let both = json!([
        {"sourceRef": {"generatorRef": {"apiVersion": "generators.external-secrets.io/v1alpha1",
                                        "kind": "Password", "name": "pw"}}},
        {"sourceRef": {"generatorRef": {"kind": "UUID", "name": "id"}}}
    ]);
    let _: ExternalSecret = env
        .apply(Some(&ns), external_secret("once", "0", both.clone()))
        .await;
    let _: ExternalSecret = env
        .apply(Some(&ns), external_secret("periodic", "1s", both))
        .await;
    let _: ExternalSecret = env
        .apply(
            Some(&ns),
            external_secret(
                "sts",
                "0",
                json!([{"sourceRef": {"generatorRef": {"kind": "STSSessionToken", "name": "sts"}}}]),
            ),
        )
        .await;

    let first = start_operator(&env, config.clone());
    let (password, uuid) = wait_for(Duration::from_secs(20), "generated values", || async {
        values(&env, "once").await
    })
    .await;
    assert_eq!(password.len(), 40);
    assert_eq!(password.chars().filter(char::is_ascii_digit).count(), 8);
    assert_eq!(password.chars().filter(|c| "-_.".contains(*c)).count(), 4);
    assert!(!password.chars().any(|c| c.is_ascii_uppercase()));
    let parsed = uuid::Uuid::parse_str(&uuid).expect("a UUID");
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(
        env.secret(&ns, "once")
            .await
            .and_then(|s| value_of(&s, "user")),
        Some("app".into())
    );
    let (_, reason, message) = wait_for(
        Duration::from_secs(20),
        "the unsupported kind reported",
        || async { ready_of(&env, &ns, "sts").await.filter(|r| r.0 == "False") },
    )
    .await;
    assert!(
        message.contains("generator kind STSSessionToken is not supported"),
        "{reason}: {message}"
    );
    assert!(
        env.secret(&ns, "sts").await.is_none(),
        "a failed generation writes no Secret"
    );
    // The periodic one is regenerated (so a constant value below means "kept", not "stuck").
    let periodic = wait_for(Duration::from_secs(20), "periodic first value", || async {
        values(&env, "periodic").await
    })
    .await;
    wait_for(Duration::from_secs(20), "periodic regenerated", || async {
        values(&env, "periodic").await.filter(|v| *v != periodic)
    })
    .await;
    drop(first);

    let second = start_operator(&env, config);
    let before = second.reconciles(&ns, "periodic");
    wait_for(
        Duration::from_secs(20),
        "the new operator reconciled both",
        || async {
            (second.reconciles(&ns, "once") >= 1 && second.reconciles(&ns, "periodic") > before + 1)
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        values(&env, "once").await,
        Some((password, uuid)),
        "refreshInterval 0: the generated values are kept across the restart"
    );
    assert_eq!(
        ready_of(&env, &ns, "once").await.map(|r| r.0),
        Some("True".to_string())
    );
    env.cleanup().await;
}
