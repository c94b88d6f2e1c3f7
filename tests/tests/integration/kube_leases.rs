//! Lease-aware `VaultDynamicSecret` through the operator, on the Kubernetes API (double, or a
//! real cluster) with a real OpenBao (database engine on a real PostgreSQL, PKI mount):
//!
//! - database credentials log in; over several short TTLs the lease is renewed (same user),
//!   not re-issued, until the max TTL, then re-issued; the superseded lease is revoked after
//!   the grace period (its role leaves `pg_roles`); an operator restart issues nothing new (it
//!   renews the persisted lease); deleting the ExternalSecret revokes its lease;
//! - a PKI certificate (`pki/issue/<role>`) lands in a `kubernetes.io/tls` Secret with a chain
//!   valid for the requested names, is re-issued before it expires, and a referenced
//!   Deployment restarts exactly once per re-issue, never on a reconcile that kept the Secret.
//!
//! Both ExternalSecrets run at once under one operator to keep the wall time short.

use crate::kube_support;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams};
use kube_support::*;
use secretsync_engine::{Engine, EngineConfig};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::generator::{GeneratorState, LeaseState};
use secretsync_model::secret_store::SecretStore;
use secretsync_providers::AllProviders;
use secretsync_testkit::peers::{Bao, Postgres};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

async fn bao(bao: &Bao, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    bao.sys_request(method, path, Some(body))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The database engine managing `postgres` (role `app`: ttl 3 s, max TTL 8 s) and a PKI
/// mount with a root CA and role `web` for `*.example.test`. Returns the CA (PEM).
async fn engines(b: &Bao, postgres: &Postgres) -> String {
    bao(
        b,
        "POST",
        "sys/mounts/database",
        json!({"type": "database"}),
    )
    .await;
    bao(
        b,
        "POST",
        "database/config/pg",
        json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": format!(
                "postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable",
                postgres.port()
            ),
            "username": postgres.user(),
            "password": secrecy::ExposeSecret::expose_secret(postgres.password()),
            "allowed_roles": "app",
        }),
    )
    .await;
    bao(
        b,
        "POST",
        "database/roles/app",
        json!({
            "db_name": "pg",
            "creation_statements": [
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
            ],
            "default_ttl": "3s",
            "max_ttl": "8s",
        }),
    )
    .await;
    bao(
        b,
        "POST",
        "sys/mounts/pki",
        json!({"type": "pki", "config": {"max_lease_ttl": "1h"}}),
    )
    .await;
    let root = bao(
        b,
        "POST",
        "pki/root/generate/internal",
        json!({"common_name": "secretsync test CA", "ttl": "1h"}),
    )
    .await;
    bao(
        b,
        "POST",
        "pki/roles/web",
        json!({"allowed_domains": "example.test", "allow_subdomains": true, "max_ttl": "1h"}),
    )
    .await;
    root["data"]["certificate"]
        .as_str()
        .expect("the root CA")
        .to_string()
}

fn generator(name: &str, server: &str, spec: serde_json::Value) -> serde_json::Value {
    let mut spec = spec;
    spec["provider"] = json!({
        "server": server,
        "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}
    });
    json!({
        "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "VaultDynamicSecret",
        "metadata": {"name": name},
        "spec": spec
    })
}

async fn states(env: &TestEnv) -> Vec<GeneratorState> {
    Api::<GeneratorState>::namespaced(env.client.clone(), &env.namespace)
        .list(&ListParams::default())
        .await
        .expect("list GeneratorStates")
        .items
}

/// The current (not superseded) lease of the database entry.
async fn current_lease(env: &TestEnv) -> Option<LeaseState> {
    states(env)
        .await
        .iter()
        .filter(|s| s.spec.garbage_collection_deadline.is_none())
        .filter_map(|s| LeaseState::from_json(&s.spec.state))
        .find(|l| l.lease_id.starts_with("database/"))
}

async fn role_exists(postgres: &Postgres, user: &str) -> bool {
    postgres
        .query(
            "postgres",
            &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{user}'"),
        )
        .await
        .expect("query pg_roles")
        .trim()
        == "1"
}

/// Verifies `tls.crt` (leaf + chain) against the CA for both requested names; returns the
/// leaf (DER) to tell certificates apart.
fn verify_chain(secret: &Secret, ca_pem: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let crt = value_of(secret, "tls.crt").expect("tls.crt");
    let key = value_of(secret, "tls.key").expect("tls.key");
    assert!(key.contains("PRIVATE KEY-----"), "tls.key holds a key");
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(crt.as_bytes())
        .collect::<Result<_, _>>()
        .expect("PEM certificates");
    assert!(chain.len() >= 2, "certificate and chain");
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA");
    let anchor = webpki::anchor_from_trusted_cert(&ca).expect("anchor");
    let leaf = webpki::EndEntityCert::try_from(&chain[0]).expect("leaf");
    leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &chain[1..],
        UnixTime::now(),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .expect("a chain to the CA");
    for name in ["web.example.test", "api.example.test"] {
        leaf.verify_is_valid_for_subject_name(&ServerName::try_from(name).expect("name"))
            .unwrap_or_else(|e| panic!("valid for {name}: {e}"));
    }
    chain[0].to_vec()
}

/// Distinct certificates (leaf DER) and restart annotations seen, in order.
type Seen = Arc<std::sync::Mutex<(Vec<Vec<u8>>, Vec<String>)>>;

/// Records every distinct certificate of Secret `web` (each chain verified) and every
/// distinct restart annotation of Deployment `web`, polling until stopped.
struct Sampler {
    stop: tokio::sync::watch::Sender<bool>,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    fn start(env: &TestEnv, ca: &str) -> Sampler {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let seen: Seen = Arc::default();
        let (client, ns, ca, record) = (
            env.client.clone(),
            env.namespace.clone(),
            ca.to_string(),
            seen.clone(),
        );
        let task = tokio::spawn(async move {
            loop {
                let secret = Api::<Secret>::namespaced(client.clone(), &ns)
                    .get_opt("web")
                    .await
                    .ok()
                    .flatten();
                let leaf = secret.as_ref().map(|s| verify_chain(s, &ca));
                let restart = Api::<Deployment>::namespaced(client.clone(), &ns)
                    .get_opt("web")
                    .await
                    .ok()
                    .flatten()
                    .and_then(|d| d.spec?.template.metadata?.annotations)
                    .and_then(|a| a.get("kubectl.kubernetes.io/restartedAt").cloned());
                {
                    let mut seen = record.lock().expect("lock");
                    if let Some(leaf) = leaf.filter(|l| seen.0.last() != Some(l)) {
                        seen.0.push(leaf);
                    }
                    if let Some(r) = restart.filter(|r| seen.1.last() != Some(r)) {
                        seen.1.push(r);
                    }
                }
                tokio::select! {
                    _ = stopped.changed() => return,
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
        });
        Sampler { stop, seen, task }
    }

    fn certificates(&self) -> usize {
        self.seen.lock().expect("lock").0.len()
    }

    /// Stops after one more sample; (certificates, restarts) seen.
    async fn stop(self) -> (usize, usize) {
        let _ = self.stop.send(true);
        self.task.await.expect("sampler");
        let seen = self.seen.lock().expect("lock");
        (seen.0.len(), seen.1.len())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_renew_reissue_revoke_and_certificates_reissue_before_expiry() {
    let env = TestEnv::start("leases").await;
    let ns = env.namespace.clone();
    let (b, postgres) = (
        Bao::start().await.expect("OpenBao (scripts/peers install)"),
        Postgres::start().await.expect("PostgreSQL"),
    );
    let ca = engines(&b, &postgres).await;
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    env.apply_manifest(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "vault-token", "namespace": ns},
        "stringData": {"token": secrecy::ExposeSecret::expose_secret(b.root_token())}
    }))
    .await;
    // The store only selects this test's operator (controller class).
    let _: SecretStore = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": "class"},
                "spec": {"controller": class, "provider": {"fake": {"data": [
                    {"key": "app", "value": "web"}
                ]}}}
            }),
        )
        .await;
    env.apply_manifest(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}
            }
        }
    }))
    .await;
    let mut db = generator("db", &b.addr(), json!({"path": "database/creds/app"}));
    db["metadata"]["namespace"] = json!(ns);
    env.apply_manifest(db).await;
    let mut web = generator(
        "web",
        &b.addr(),
        json!({"path": "pki/issue/web", "method": "POST", "parameters": {
            "common_name": "web.example.test", "alt_names": "api.example.test", "ttl": "6s"
        }}),
    );
    web["metadata"]["namespace"] = json!(ns);
    env.apply_manifest(web).await;
    let es = |name: &str, annotations: serde_json::Value, target: serde_json::Value| {
        json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": "class", "kind": "SecretStore"},
                "target": target,
                "data": [{"secretKey": "app", "remoteRef": {"key": "app"}}],
                "dataFrom": [{"sourceRef": {"generatorRef": {
                    "apiVersion": "generators.external-secrets.io/v1alpha1",
                    "kind": "VaultDynamicSecret", "name": name
                }}}]
            }
        })
    };
    let _: ExternalSecret = env
        .apply(
            Some(&ns),
            es(
                "db",
                json!({"secretsync.io/lease-revoke-grace": "1s"}),
                json!({"name": "db"}),
            ),
        )
        .await;
    let _: ExternalSecret = env
        .apply(
            Some(&ns),
            es(
                "web",
                json!({"secretsync.io/rollout-restart": "deployment/web"}),
                json!({"name": "web", "template": {"type": "kubernetes.io/tls", "data": {
                    "tls.crt": "{{ .certificate }}\n{{ .issuing_ca }}\n",
                    "tls.key": "{{ .private_key }}\n"
                }}}),
            ),
        )
        .await;

    let sampler = Sampler::start(&env, &ca);
    let providers = AllProviders::default();
    let start = || {
        let engine = Engine::new(Arc::new(providers.clone()), EngineConfig::default())
            .with_generators(providers.generators());
        start_controllers_with(&env, config.clone(), Arc::new(providers.clone()), engine)
    };
    let operator = start();

    // (a) Database credentials log in; the lease is renewed, the user stays.
    let user_of = |s: &Secret| value_of(s, "username");
    let first = wait_for(WAIT, "database credentials", || async {
        env.secret(&ns, "db").await
    })
    .await;
    let user = user_of(&first).expect("username");
    let password = value_of(&first, "password").expect("password");
    assert_eq!(
        postgres
            .query_as("postgres", &user, &password, "SELECT current_user")
            .await
            .expect("the credentials log in"),
        user
    );
    let issued = wait_for(WAIT, "the lease state", || current_lease(&env)).await;
    assert!(
        !serde_json::to_string(&states(&env).await)
            .expect("json")
            .contains(&password),
        "the state holds no credential"
    );
    // Renewals (same lease, new period) until the lease is replaced.
    let mut renewals = 0;
    let mut last = issued.clone();
    let reissued_at;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let now = current_lease(&env).await;
        match now {
            Some(now) if now.lease_id != issued.lease_id => {
                reissued_at = now.issued_at;
                break;
            }
            Some(now) if now.renewed_at != last.renewed_at => {
                renewals += 1;
                last = now;
            }
            _ => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no re-issue at max TTL"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let notes: Vec<String> = env
        .events(&ns)
        .await
        .iter()
        .filter_map(|e| Some(format!("{}: {}", e.reason.clone()?, e.note.clone()?)))
        .collect();
    assert!(
        renewals >= 2,
        "renewed {renewals} times before the re-issue; last {last:?}; events {notes:?}"
    );
    // Not re-issued before the max TTL (8 s) was within a period (3 s) of the issue.
    let lived = reissued_at.duration_since(issued.issued_at);
    assert!(
        lived.as_secs_f64() >= 5.0,
        "re-issued after {lived:?}; last {last:?}"
    );
    let new_user = wait_for(WAIT, "the new credentials in the Secret", || async {
        user_of(&env.secret(&ns, "db").await?).filter(|u| *u != user)
    })
    .await;
    wait_for(WAIT, "the superseded lease revoked", || async {
        (!role_exists(&postgres, &user).await).then_some(())
    })
    .await;
    assert!(role_exists(&postgres, &new_user).await);

    // (b) PKI: a valid chain for the names, re-issued before expiry (the sampler saw at least
    // three certificates by now: 6 s lifetime, re-issued with 1/3 left).
    let web_secret = wait_for(WAIT, "the TLS Secret", || async {
        env.secret(&ns, "web").await
    })
    .await;
    verify_chain(&web_secret, &ca);
    wait_for(WAIT, "three certificates", || async {
        (sampler.certificates() >= 3).then_some(())
    })
    .await;
    // Reconciles that keep the Secret: touching the target (a label, no data) makes the
    // operator look at it again; a rollout restart then would be a bug.
    for touch in 0..2 {
        let before = operator.1.external_secret_reconciles(&ns, "web");
        Api::<Secret>::namespaced(env.client.clone(), &ns)
            .patch(
                "web",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(
                    json!({"metadata": {"labels": {"touched": touch.to_string()}}}),
                ),
            )
            .await
            .expect("touch the Secret");
        wait_for(WAIT, "a reconcile of the touched Secret", || async {
            (operator.1.external_secret_reconciles(&ns, "web") > before).then_some(())
        })
        .await;
    }

    // (a, continued) A restart of the operator issues nothing new: it renews the kept lease.
    let web_reconciles = operator.1.external_secret_reconciles(&ns, "web");
    drop(operator);
    let (certificates, restarts) = sampler.stop().await;
    // Once per re-issue (creation restarts nothing), never on the reconciles that kept the
    // Secret, of which there were more than writes.
    assert_eq!(restarts, certificates - 1, "{certificates} certificates");
    assert!(
        web_reconciles > certificates as u64,
        "{web_reconciles} reconciles for {certificates} certificates"
    );
    let kept = wait_for(WAIT, "a current lease", || current_lease(&env)).await;
    let operator = start();
    let renewed = wait_for(WAIT, "the new operator renews the kept lease", || async {
        let now = current_lease(&env).await?;
        (now.lease_id != kept.lease_id || now.renewed_at != kept.renewed_at).then_some(now)
    })
    .await;
    if renewed.lease_id == kept.lease_id {
        assert_eq!(
            env.secret(&ns, "db").await.as_ref().and_then(user_of),
            Some(new_user.clone()),
            "same credentials after the restart"
        );
    } else {
        // The kept lease reached its max TTL right at the restart: a re-issue is legitimate
        // only when the kept lease could not be renewed any more.
        assert!(kept.max_expires_at.is_some(), "re-issued a renewable lease");
    }

    // Deleting the ExternalSecret revokes its lease.
    let holder = env
        .secret(&ns, "db")
        .await
        .as_ref()
        .and_then(user_of)
        .expect("user");
    Api::<ExternalSecret>::namespaced(env.client.clone(), &ns)
        .delete("db", &DeleteParams::default())
        .await
        .expect("delete");
    wait_for(WAIT, "the lease revoked on deletion", || async {
        (!role_exists(&postgres, &holder).await).then_some(())
    })
    .await;
    wait_for(
        Duration::from_secs(60),
        "the ExternalSecret gone",
        || async { env.external_secret_gone(&ns, "db").await.then_some(()) },
    )
    .await;
    drop(operator);
    env.cleanup().await;
}
