//! Cut-over of ExternalSecrets the bootstrapper did not create (issue #18): a user's
//! ExternalSecret in another namespace, with a template, a per-entry `sourceRef.storeRef` and
//! two clouds, is proven byte-identical, switched without its Secret being written, recorded
//! on the object and rolled back exactly; one reading a key migration does not cover, and one
//! whose Secret differs from Vault, are refused naming the reference or key, never a value.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use secretsync_bootstrap::cutover::translate::ORIGINAL_ANNOTATION;
use secretsync_bootstrap::{ApplyError, ApplyOptions};
use secretsync_model::external_secret::ExternalSecret;
use serde_json::{Value, json};

use crate::support::*;

/// The users' namespace (not one the bootstrapper creates).
const NS: &str = "secretsync-cutover-team";
/// A stale value in a target Secret (a canary: must never be logged).
const STALE: &str = "canary-stale-4b5c6d7e-never-log";
/// The `user` property of AWS key `team-db` (a canary).
const DB_USER: &str = "canary-dbuser-8c9d0e1f-never-log";
/// Field manager standing in for GitOps (Argo CD / Flux apply the ExternalSecrets).
const GITOPS: &str = "gitops-test";

/// A user's ExternalSecret: AWS through `secretStoreRef` (a whole value and a property of a
/// JSON value), Azure through a per-entry `sourceRef.storeRef`, rendered through a template
/// into one key.
fn user_external_secret() -> Value {
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": NS},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "aws-secretsmanager", "kind": "ClusterSecretStore"},
            "target": {
                "name": "app-secret",
                "creationPolicy": "Owner",
                "template": {
                    "type": "Opaque",
                    "metadata": {"labels": {"team": "a"}},
                    "data": {"combined": "{{ .aws }}+{{ .azure }}+{{ .user }}"},
                },
            },
            "data": [
                {"secretKey": "aws", "remoteRef": {"key": "crossplane-aws-credentials"}},
                {"secretKey": "azure", "remoteRef": {"key": "crossplane-azure-credentials"},
                 "sourceRef": {"storeRef": {"name": "azure-keyvault", "kind": "ClusterSecretStore"}}},
                {"secretKey": "user", "remoteRef": {"key": "team-db", "property": "user"}},
            ],
        },
    })
}

fn simple_external_secret(name: &str, keys: &[(&str, &str)]) -> Value {
    let data: Vec<Value> = keys
        .iter()
        .map(|(k, remote)| json!({"secretKey": k, "remoteRef": {"key": remote}}))
        .collect();
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "secretStoreRef": {"name": "aws-secretsmanager", "kind": "ClusterSecretStore"},
            "target": {"name": name},
            "data": data,
        },
    })
}

/// The world's configuration with one more ExternalSecret under `cutover:`.
fn with_cutover(world: &World, name: &str) -> String {
    format!("{}  - {{namespace: {NS}, name: {name}}}\n", world.yaml)
}

/// [`with_cutover`], also migrating the `user` property of AWS key `team-db`.
fn with_property_migrated(world: &World, name: &str) -> String {
    with_cutover(world, name).replacen(
        "cutover:\n",
        "  - {store: aws-secretsmanager, key: team-db, property: user, to: team/db-user}\ncutover:\n",
        1,
    )
}

/// Deletes `name` if an earlier run on a real cluster left it, and waits until it is gone.
async fn delete_and_wait<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let _ = api.delete(name, &DeleteParams::default()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while matches!(api.get_opt(name).await, Ok(Some(_))) {
        assert!(Instant::now() < deadline, "{name} not deleted within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Applies the users' objects as GitOps would (server-side apply, its own field manager).
async fn seed(world: &World) {
    let apply = PatchParams::apply(GITOPS).force();
    let namespaces: Api<Namespace> = Api::all(world.client.clone());
    namespaces
        .patch(
            NS,
            &apply,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            ),
        )
        .await
        .expect("namespace");
    let es: Api<ExternalSecret> = Api::namespaced(world.client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(world.client.clone(), NS);
    for name in ["app", "uncovered", "differs"] {
        delete_and_wait(&es, name).await;
    }
    for name in ["app-secret", "differs"] {
        delete_and_wait(&secrets, name).await;
    }
    for body in [
        user_external_secret(),
        simple_external_secret(
            "uncovered",
            &[("a", "crossplane-aws-credentials"), ("b", "not-migrated")],
        ),
        simple_external_secret("differs", &[("password", "crossplane-aws-credentials")]),
    ] {
        let name = body["metadata"]["name"].as_str().expect("name").to_string();
        es.patch(&name, &apply, &Patch::Apply(body))
            .await
            .expect("ExternalSecret");
    }
    let aws = aws_sdk_secretsmanager::Client::new(&world.moto.admin_sdk_config("us-east-1"));
    aws.create_secret()
        .name("team-db")
        .secret_string(json!({"user": DB_USER, "password": "not-read"}).to_string())
        .send()
        .await
        .expect("seed moto");
    // The target Secrets as the operator (ESO) wrote them: one as rendered, one stale.
    for (name, labels, data) in [
        (
            "app-secret",
            json!({"team": "a"}),
            json!({"combined": format!("{AWS_VALUE}+{AZURE_VALUE}+{DB_USER}")}),
        ),
        ("differs", json!({}), json!({"password": STALE})),
    ] {
        secrets
            .patch(
                name,
                &PatchParams::apply("external-secrets").force(),
                &Patch::Apply(json!({
                    "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": name, "namespace": NS, "labels": labels},
                    "stringData": data,
                })),
            )
            .await
            .expect("Secret");
    }
}

async fn bootstrapper(world: &World, yaml: &str) -> secretsync_bootstrap::Bootstrapper {
    world
        .bootstrapper_with(yaml, world.pg.password().clone())
        .await
}

async fn live_es(world: &World, name: &str) -> Value {
    let api: Api<ExternalSecret> = Api::namespaced(world.client.clone(), NS);
    serde_json::to_value(api.get(name).await.expect("ExternalSecret")).expect("json")
}

async fn secret_version(world: &World, name: &str) -> String {
    let api: Api<Secret> = Api::namespaced(world.client.clone(), NS);
    api.get(name)
        .await
        .expect("Secret")
        .metadata
        .resource_version
        .expect("resourceVersion")
}

fn step_error(result: Result<secretsync_bootstrap::ApplyReport, ApplyError>) -> String {
    match result {
        Err(ApplyError::Step { step, source, .. }) => format!("{step}: {source}"),
        other => panic!("expected a failed step, got {other:?}"),
    }
}

/// Run by `migration_cutover_and_rollback` once the world is bootstrapped and its two bootstrap
/// ExternalSecrets are cut over (one world for both: peers and a full apply cost seconds);
/// ends with the rollback of all three.
pub async fn others_are_cut_over_and_rolled_back(world: &World) {
    seed(world).await;

    // A reference migration does not cover: plan says why, apply refuses, nothing changes.
    let before = live_es(world, "uncovered").await;
    let b = bootstrapper(world, &with_cutover(world, "uncovered")).await;
    let steps = planned(&b).await;
    let not_covered = "data[1].remoteRef (key \"not-migrated\" of ClusterSecretStore \
                       aws-secretsmanager) is not in migration";
    assert_eq!(steps.len(), 1, "{steps:#?}");
    assert!(
        steps[0].starts_with(&format!(
            "cutover: cut over ExternalSecret {NS}/uncovered on vault (not covered"
        )),
        "{steps:#?}"
    );
    assert!(steps[0].contains(not_covered), "{steps:#?}");
    let text = step_error(b.apply(&ApplyOptions::default()).await);
    assert!(
        text.contains(&format!(
            "ExternalSecret {NS}/uncovered: not cut over: {not_covered}"
        )),
        "{text}"
    );
    assert_eq!(live_es(world, "uncovered").await["spec"], before["spec"]);

    // A target Secret that differs from what Vault renders: refused, naming the key only.
    let before = live_es(world, "differs").await;
    let version = secret_version(world, "differs").await;
    let b = bootstrapper(world, &with_cutover(world, "differs")).await;
    let text = step_error(b.apply(&ApplyOptions::default()).await);
    assert!(
        text.contains(&format!(
            "ExternalSecret {NS}/differs: rendering through vault differs from Secret \
             {NS}/differs in data key \"password\"; not switched"
        )),
        "{text}"
    );
    for secret in [STALE, AWS_VALUE] {
        assert!(!text.contains(secret), "{text}");
    }
    assert_eq!(live_es(world, "differs").await["spec"], before["spec"]);
    assert_eq!(secret_version(world, "differs").await, version);

    // A user's ExternalSecret in another namespace: cut over.
    let original = live_es(world, "app").await;
    let version = secret_version(world, "app-secret").await;
    let b = bootstrapper(world, &with_property_migrated(world, "app")).await;
    let planned = planned(&b).await;
    assert_eq!(
        planned,
        [
            "migration: migrate secret/team/db-user from aws-secretsmanager/team-db#user (absent)"
                .to_string(),
            format!(
                "cutover: cut over ExternalSecret {NS}/app on vault (reads aws-secretsmanager, \
                 azure-keyvault; 8 reference field(s) to switch, every one covered by \
                 migration; switched only if rendering through vault is byte-identical)"
            )
        ]
    );
    // Interrupted between the migration and the cut-over: nothing switched; the re-run
    // completes.
    match b
        .apply(&ApplyOptions {
            stop_after: Some(1),
            ..ApplyOptions::default()
        })
        .await
    {
        Err(ApplyError::Interrupted { done }) => assert_eq!(done, planned[..1]),
        other => panic!("expected an interrupted apply, got {other:?}"),
    }
    assert_eq!(live_es(world, "app").await["spec"], original["spec"]);
    let report = b
        .apply(&ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.done.len(), 1, "{:#?}", report.done);
    let switched = live_es(world, "app").await;
    let spec = &switched["spec"];
    assert_eq!(
        spec["secretStoreRef"],
        json!({"name": "vault", "kind": "ClusterSecretStore"})
    );
    assert_eq!(
        spec["data"][0]["remoteRef"]["key"],
        "crossplane/aws-credentials"
    );
    assert_eq!(spec["data"][0]["remoteRef"]["property"], "value");
    assert_eq!(
        spec["data"][1]["remoteRef"]["key"],
        "crossplane/azure-credentials"
    );
    assert_eq!(
        spec["data"][1]["sourceRef"]["storeRef"],
        json!({"name": "vault", "kind": "ClusterSecretStore"})
    );
    assert_eq!(spec["data"][2]["remoteRef"]["key"], "team/db-user");
    assert_eq!(spec["data"][2]["remoteRef"]["property"], "value");
    let migrated = vault_get(world, "secret/data/team/db-user").await;
    assert_eq!(migrated["data"]["data"]["value"], DB_USER);
    // everything else as GitOps wrote it
    assert_eq!(spec["target"], original["spec"]["target"]);
    assert_eq!(spec["refreshInterval"], original["spec"]["refreshInterval"]);
    assert!(
        switched["metadata"]["annotations"][ORIGINAL_ANNOTATION]
            .as_str()
            .is_some_and(|r| r.contains("aws-secretsmanager") && r.contains("azure-keyvault")),
        "{switched}"
    );
    // The target Secret was not written.
    assert_eq!(secret_version(world, "app-secret").await, version);
    assert_nothing_to_do(&b).await;

    // Rolled back by another run (nothing kept but the annotation on the object).
    let other_machine = bootstrapper(world, &with_property_migrated(world, "app")).await;
    let back = other_machine
        .rollback()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        back.contains(&format!(
            "ExternalSecret {NS}/app back on aws-secretsmanager, azure-keyvault"
        )),
        "{back:#?}"
    );
    assert_eq!(
        back.len(),
        3,
        "the two bootstrap ExternalSecrets too: {back:#?}"
    );
    let restored = live_es(world, "app").await;
    assert_eq!(restored["spec"], original["spec"]);
    assert!(
        restored["metadata"]["annotations"]
            .get(ORIGINAL_ANNOTATION)
            .is_none(),
        "{restored}"
    );
    assert_eq!(secret_version(world, "app-secret").await, version);
    assert!(
        other_machine
            .rollback()
            .await
            .expect("second rollback")
            .is_empty()
    );
    let logs = secretsync_testkit::logs::captured_text();
    for canary in [STALE, DB_USER] {
        assert!(!logs.contains(canary), "a value in the logs");
    }
}
