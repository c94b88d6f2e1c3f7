//! `apply` from an empty cluster and an empty OpenBao (issue #18): phase 1 (CRDs, the ADR's
//! cloud stores with workload identity / IRSA, the Crossplane Secrets synced once through the
//! engine and writer) and phase 2 (KV v2, Kubernetes auth, policy and role, AppRole, database
//! engine, PKI, the `vault` store); re-runs are no-ops; an apply stopped at every step boundary
//! and re-run completes without duplicates; no value or token reaches logs or errors.

mod support;

use kube::api::{Api, ListParams};
use secrecy::SecretString;
use secretsync_bootstrap::{ApplyError, ApplyOptions};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::ClusterSecretStore;
use serde_json::Value;
use support::*;

async fn vault_get(world: &World, path: &str) -> Value {
    world
        .bao
        .sys_request(reqwest::Method::GET, path, None)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// What must hold after a complete apply.
async fn assert_bootstrapped(world: &World) {
    // Phase 1: the Crossplane Secrets hold the cloud values.
    assert_eq!(
        world
            .secret_value("crossplane-system", "azure-credentials", "credentials")
            .await
            .as_deref(),
        Some(AZURE_VALUE)
    );
    assert_eq!(
        world
            .secret_value("crossplane-system", "aws-credentials", "credentials")
            .await
            .as_deref(),
        Some(AWS_VALUE)
    );
    // Exactly the ADR's three stores and the two ExternalSecrets (no duplicates).
    let stores: Api<ClusterSecretStore> = Api::all(world.client.clone());
    let mut names: Vec<String> = stores
        .list(&ListParams::default())
        .await
        .expect("list stores")
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    names.sort();
    assert_eq!(names, ["aws-secretsmanager", "azure-keyvault", "vault"]);
    let es: Api<ExternalSecret> = Api::namespaced(world.client.clone(), "crossplane-system");
    assert_eq!(
        es.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        2
    );
    // Phase 2: mounts once each, the policy and role as designed.
    let mounts = vault_get(world, "sys/mounts").await;
    let data = mounts.get("data").unwrap_or(&mounts);
    assert_eq!(data["secret/"]["type"], "kv");
    assert_eq!(data["secret/"]["options"]["version"], "2");
    assert_eq!(data["database/"]["type"], "database");
    assert_eq!(data["pki/"]["type"], "pki");
    let auth = vault_get(world, "sys/auth").await;
    let data = auth.get("data").unwrap_or(&auth);
    assert_eq!(data["kubernetes/"]["type"], "kubernetes");
    assert_eq!(data["approle/"]["type"], "approle");
    let role = vault_get(world, "auth/kubernetes/role/external-secrets").await;
    assert_eq!(
        role["data"]["bound_service_account_names"][0],
        "external-secrets"
    );
    assert_eq!(
        role["data"]["bound_service_account_namespaces"][0],
        "external-secrets"
    );
    assert_eq!(role["data"]["token_policies"][0], "external-secrets");
    let policy = vault_get(world, "sys/policies/acl/external-secrets").await;
    assert!(
        policy["data"]["policy"]
            .as_str()
            .is_some_and(|p| p.contains("secret/data/*")),
        "{policy}"
    );
    // The database role issues working PostgreSQL credentials.
    let creds = vault_get(world, "database/creds/app").await;
    let user = creds["data"]["username"].as_str().expect("username");
    let password = creds["data"]["password"].as_str().expect("password");
    assert_eq!(world.psql_as(user, password).await.as_deref(), Ok(user));
    // The PKI role issues a certificate.
    let cert = world
        .bao
        .sys_request(
            reqwest::Method::POST,
            "pki/issue/internal",
            Some(serde_json::json!({"common_name": "app.svc.cluster.local"})),
        )
        .await
        .expect("issue");
    assert!(
        cert["data"]["certificate"]
            .as_str()
            .is_some_and(|c| c.starts_with("-----BEGIN CERTIFICATE-----"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_from_empty_then_nothing_to_do() {
    let world = World::start().await;
    let b = world.bootstrapper().await;
    let planned = b.plan().await.expect("plan");
    assert!(planned.len() > 20, "{planned:#?}");
    // plan touched nothing
    assert!(
        world
            .secret_value("crossplane-system", "azure-credentials", "credentials")
            .await
            .is_none()
    );
    let report = b
        .apply(&ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.done.len(), planned.len());
    assert_bootstrapped(&world).await;
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
async fn interrupted_at_every_step_boundary_and_resumed() {
    let world = World::start().await;
    let b = world.bootstrapper().await;
    let total = b.plan().await.expect("plan").len();
    let stop = ApplyOptions {
        stop_after: Some(1),
    };
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= total + 1, "no progress after {runs} runs");
        match b.apply(&stop).await {
            Err(ApplyError::Interrupted { done }) => assert_eq!(done.len(), 1),
            Ok(report) => {
                assert!(report.done.len() <= 1);
                if report.done.is_empty() {
                    break;
                }
            }
            Err(e) => panic!("run {runs}: {e}"),
        }
        // after each boundary the plan is one step shorter or equal (checks may re-run)
    }
    assert!(runs >= total, "{runs} runs for {total} steps");
    assert!(b.plan().await.expect("plan").is_empty());
    assert_bootstrapped(&world).await;
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
