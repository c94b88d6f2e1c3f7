//! `apply` from an empty cluster and an empty OpenBao (issue #18): phase 1 (CRDs, the ADR's
//! cloud stores with workload identity / IRSA, the Crossplane Secrets synced once through the
//! engine and writer) and phase 2 (KV v2, Kubernetes auth, policy and role, AppRole, database
//! engine, PKI, the `vault` store); re-runs are no-ops; no value or token reaches logs or errors.
//! (An apply killed at every step and re-run: `bins/bootstrap/tests/integration/killed.rs`, with the binary.
//! Cut-over of ExternalSecrets the bootstrapper did not create: `cutover/`, run within
//! `migration_cutover_and_rollback`.)

mod cutover;
mod support;

use kube::api::Api;
use secrecy::SecretString;
use secretsync_bootstrap::{ApplyError, ApplyOptions};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_from_empty_then_nothing_to_do() {
    let world = World::start().await;
    // with the operator itself installed from deploy/overlays/cluster-wide
    let b = world
        .bootstrapper_with(
            &world.yaml_installing_the_operator(),
            world.pg.password().clone(),
        )
        .await;
    let planned = b.plan().await.expect("plan");
    assert!(planned.len() > 20, "{planned:#?}");
    // plan touched nothing
    assert!(
        world
            .secret_value("crossplane-system", "azure-credentials", "credentials")
            .await
            .is_none()
    );
    // An embedder's step-by-step apply: stopped after 3 steps, then resumed.
    let stop = ApplyOptions {
        stop_after: Some(3),
        ..ApplyOptions::default()
    };
    match b.apply(&stop).await {
        Err(ApplyError::Interrupted { done }) => assert_eq!(
            done,
            planned[..3]
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ),
        other => panic!("expected an interrupted apply, got {other:?}"),
    }
    let report = b
        .apply(&ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.done.len(), planned.len() - 3);
    assert_bootstrapped(&world).await;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(world.client.clone(), "secretsync-system");
    let operator = deployments
        .get("secretsync-operator")
        .await
        .expect("the operator's Deployment from deploy/");
    assert_eq!(
        operator
            .spec
            .and_then(|s| s.template.spec)
            .and_then(|p| p.service_account_name)
            .as_deref(),
        Some("secretsync")
    );
    // The operator's ServiceAccount logged in through Kubernetes auth (the phase 2 check).
    assert!(
        report
            .done
            .iter()
            .any(|s| s == "phase2: verify checks of phase2 (not verified yet)")
    );
    let second = b
        .apply(&ApplyOptions::default())
        .await
        .expect("second apply");
    assert!(second.done.is_empty(), "{:#?}", second.done);
    assert!(b.plan().await.expect("plan").is_empty());
    let status = b.status().await.expect("status");
    assert!(
        status.iter().all(|p| p.verified && p.pending.is_empty()),
        "{status:#?}"
    );
    assert_eq!(world.logs_contain_secret(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_failure_messages_carry_no_secret() {
    let world = World::start().await;
    let wrong = "canary-db-password-9a1b2c3d-never-log";
    let b = world
        .bootstrapper_with(&world.yaml, SecretString::from(wrong.to_string()))
        .await;
    let err = b
        .apply(&ApplyOptions::default())
        .await
        .expect_err("wrong database password");
    let text = err.to_string();
    assert!(text.contains("database/config/postgres"), "{text}");
    assert!(text.contains("run apply again"), "{text}");
    assert!(!text.contains(wrong), "{text}");
    // fixed, the same plan resumes and finishes
    let b = world.bootstrapper().await;
    b.apply(&ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_bootstrapped(&world).await;
    assert_eq!(world.logs_contain_secret(), None);
    assert!(!secretsync_testkit::logs::captured_text().contains(wrong));
}

async fn resource_versions(world: &World) -> Vec<String> {
    let api: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(world.client.clone(), "crossplane-system");
    let mut out = Vec::new();
    for name in ["azure-credentials", "aws-credentials"] {
        let s = api.get(name).await.expect("Secret");
        out.push(s.metadata.resource_version.expect("resourceVersion"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_cutover_and_rollback() {
    let world = World::start().await;
    // Phases 1 and 2 first.
    let b = world
        .bootstrapper_with(&world.yaml_phases_only(), world.pg.password().clone())
        .await;
    b.apply(&ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = resource_versions(&world).await;
    assert_eq!(
        store_refs(&world).await,
        ["azure-keyvault", "aws-secretsmanager"]
    );
    // Then migration and cut-over.
    let b = world.bootstrapper().await;
    let report = b
        .apply(&ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // 2 keys, 2 cut-overs, and phase 1's checks again (its ExternalSecrets may now be on vault)
    assert_eq!(report.done.len(), 5, "{:#?}", report.done);
    for (path, value, source) in [
        (
            "crossplane/azure-credentials",
            AZURE_VALUE,
            "azure-keyvault/crossplane-azure-credentials",
        ),
        (
            "crossplane/aws-credentials",
            AWS_VALUE,
            "aws-secretsmanager/crossplane-aws-credentials",
        ),
    ] {
        let data = vault_get(&world, &format!("secret/data/{path}")).await;
        assert_eq!(data["data"]["data"]["value"], value, "{path}");
        let meta = vault_get(&world, &format!("secret/metadata/{path}")).await;
        let custom = &meta["data"]["custom_metadata"];
        assert_eq!(custom["secretsync.io/migrated-from"], source);
        assert_eq!(custom["managed-by"], "external-secrets");
        assert!(
            custom["secretsync.io/migrated-at"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
    }
    assert_eq!(store_refs(&world).await, ["vault", "vault"]);
    // Byte-identical and not rewritten.
    assert_eq!(resource_versions(&world).await, before);
    assert_bootstrapped(&world).await;
    assert_nothing_to_do(&b).await;
    // ExternalSecrets the bootstrapper did not create; ends with a rollback of all three.
    cutover::others_are_cut_over_and_rolled_back(&world).await;
    // The rollback restored the original references; the Secrets stay untouched.
    assert_eq!(
        store_refs(&world).await,
        ["azure-keyvault", "aws-secretsmanager"]
    );
    assert_eq!(resource_versions(&world).await, before);
    assert!(b.rollback().await.expect("second rollback").is_empty());
    assert_eq!(world.logs_contain_secret(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_value_in_vault_stops_migration_unless_forced() {
    let world = World::start().await;
    let other = "canary-vault-other-5e6f7a8b-never-log";
    // A value already in Vault (marked as managed, so only the value rule applies).
    world
        .bao
        .sys_request(
            reqwest::Method::POST,
            "secret/data/crossplane/azure-credentials",
            Some(serde_json::json!({"data": {"value": other}})),
        )
        .await
        .expect("seed vault");
    world
        .bao
        .sys_request(
            reqwest::Method::POST,
            "secret/metadata/crossplane/azure-credentials",
            Some(serde_json::json!({"custom_metadata": {"managed-by": "external-secrets"}})),
        )
        .await
        .expect("mark");
    let b = world.bootstrapper().await;
    let err = b
        .apply(&ApplyOptions::default())
        .await
        .expect_err("a different value stops migration");
    let text = err.to_string();
    assert!(
        text.contains("secret/crossplane/azure-credentials already holds a different value"),
        "{text}"
    );
    assert!(text.contains("--force"), "{text}");
    for secret in [other, AZURE_VALUE] {
        assert!(!text.contains(secret), "{text}");
    }
    let data = vault_get(&world, "secret/data/crossplane/azure-credentials").await;
    assert_eq!(data["data"]["data"]["value"], other, "not overwritten");
    b.apply(&ApplyOptions {
        force: true,
        ..ApplyOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let data = vault_get(&world, "secret/data/crossplane/azure-credentials").await;
    assert_eq!(data["data"]["data"]["value"], AZURE_VALUE);
    assert!(!secretsync_testkit::logs::captured_text().contains(other));
}
