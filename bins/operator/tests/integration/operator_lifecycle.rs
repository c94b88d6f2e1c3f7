//! End-to-end: graceful shutdown during a slow provider read (the write completes, Vault tokens
//! are revoked, the Lease is released) and `/readyz` waiting for every watch to list.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use support::{Cluster, Operator, wait_for};

const READ_DELAY: Duration = Duration::from_secs(3);

/// What the fake Vault saw.
#[derive(Default)]
struct VaultLog {
    issued: Vec<String>,
    revoked: BTreeSet<String>,
    reads_started: usize,
    reads_finished: usize,
    unexpected: Vec<String>,
}

/// A Vault speaking just enough HTTP API for AppRole login, token lookup/revoke and one slow
/// KV v2 read (`secret/data/app`).
struct FakeVault {
    log: Arc<Mutex<VaultLog>>,
    port: u16,
    _thread: std::thread::JoinHandle<()>,
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn vault(State(log): State<Arc<Mutex<VaultLog>>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let token = request
        .headers()
        .get("x-vault-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let valid = {
        let l = log.lock().unwrap();
        l.issued.contains(&token) && !l.revoked.contains(&token)
    };
    let denied = || {
        json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"errors": ["permission denied"]}),
        )
    };
    match (method.as_str(), path.as_str()) {
        ("POST", "/v1/auth/approle/login") => {
            let token = {
                let mut l = log.lock().unwrap();
                let t = format!("tok-{}", l.issued.len() + 1);
                l.issued.push(t.clone());
                t
            };
            json(
                StatusCode::OK,
                serde_json::json!({"auth": {"client_token": token, "lease_duration": 3600, "renewable": true}}),
            )
        }
        ("GET", "/v1/auth/token/lookup-self") if valid => json(
            StatusCode::OK,
            serde_json::json!({"data": {"ttl": 3600, "renewable": true}}),
        ),
        ("POST", "/v1/auth/token/revoke-self") if valid => {
            log.lock().unwrap().revoked.insert(token);
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", "/v1/secret/data/app") if valid => {
            log.lock().unwrap().reads_started += 1;
            tokio::time::sleep(READ_DELAY).await;
            log.lock().unwrap().reads_finished += 1;
            json(
                StatusCode::OK,
                serde_json::json!({"data": {"data": {"password": "v-slow"}, "metadata": {"version": 1}}}),
            )
        }
        (
            _,
            "/v1/auth/token/lookup-self" | "/v1/auth/token/revoke-self" | "/v1/secret/data/app",
        ) => denied(),
        _ => {
            log.lock()
                .unwrap()
                .unexpected
                .push(format!("{method} {path}"));
            json(StatusCode::NOT_FOUND, serde_json::json!({"errors": []}))
        }
    }
}

impl FakeVault {
    fn start() -> FakeVault {
        let log = Arc::new(Mutex::new(VaultLog::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = log.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = Router::new().fallback(vault).with_state(state);
                axum::serve(listener, app).await.unwrap();
            });
        });
        FakeVault {
            log,
            port,
            _thread: thread,
        }
    }

    fn log<T>(&self, f: impl FnOnce(&VaultLog) -> T) -> T {
        f(&self.log.lock().unwrap())
    }
}

fn holder(cluster: &Cluster, ns: &str, lease: &str) -> Option<String> {
    let l = cluster.get_json(&["lease", "-n", ns, lease])?;
    l["spec"]["holderIdentity"].as_str().map(str::to_string)
}

fn secret_value(cluster: &Cluster, ns: &str, name: &str, key: &str) -> Option<String> {
    let secret = cluster.get_json(&["secret", "-n", ns, name])?;
    let b64 = secret["data"][key].as_str()?;
    Some(
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap(),
    )
}

#[test]
fn sigterm_during_a_slow_read_finishes_the_write_revokes_tokens_and_releases_the_lease() {
    let vault = FakeVault::start();
    let mut cluster = Cluster::start();
    let ns = cluster.namespace("graceful");
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: approle, namespace: {ns}}}\nstringData: {{secret-id: sid-1}}\n"
    ));
    cluster.apply(&format!(
        r#"apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: vault, namespace: {ns}}}
spec:
  provider:
    vault:
      server: http://127.0.0.1:{port}
      path: secret
      version: v2
      auth:
        appRole:
          path: approle
          roleId: role-1
          secretRef: {{name: approle, key: secret-id}}
"#,
        port = vault.port
    ));
    cluster.apply(&format!(
        r#"apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app, namespace: {ns}}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: vault, kind: SecretStore}}
  target: {{name: app}}
  data:
    - secretKey: password
      remoteRef: {{key: app, property: password}}
"#
    ));
    let lease = format!("lease-{:08x}", support::rand_u32());
    let mut op = Operator::start(
        &cluster,
        &[
            "--leader-elect".to_string(),
            "--identity=op-graceful".into(),
            format!("--operator-namespace={ns}"),
            format!("--leader-election-lease-name={lease}"),
            "--shutdown-timeout=20s".into(),
        ],
    );
    wait_for(Duration::from_secs(60), "the slow KV read to start", || {
        vault
            .log(|l| l.reads_started >= 1 && l.reads_finished == 0)
            .then_some(())
    });
    assert_eq!(
        holder(&cluster, &ns, &lease).as_deref(),
        Some("op-graceful")
    );
    assert!(
        secret_value(&cluster, &ns, "app", "password").is_none(),
        "the read is still in flight"
    );

    let signalled = Instant::now();
    let exit = op.terminate(Duration::from_secs(25));
    let took = signalled.elapsed();
    let log = op.log_text();
    assert!(exit.success(), "SIGTERM exits 0, got {exit:?}\n{log}");
    assert!(
        took >= READ_DELAY.saturating_sub(Duration::from_millis(500)),
        "the operator exited after {took:?}, before the {READ_DELAY:?} read could finish\n{log}"
    );
    assert_eq!(
        vault.log(|l| l.reads_finished),
        1,
        "the in-flight read was awaited"
    );
    assert_eq!(
        secret_value(&cluster, &ns, "app", "password").as_deref(),
        Some("v-slow"),
        "the in-flight Secret write completed before exit\n{log}"
    );
    let (issued, revoked, unexpected) = vault.log(|l| {
        (
            l.issued.iter().cloned().collect::<BTreeSet<_>>(),
            l.revoked.clone(),
            l.unexpected.clone(),
        )
    });
    assert!(
        !issued.is_empty(),
        "store validation and the sync share the store's provider, which logged in: {issued:?}"
    );
    assert_eq!(
        revoked, issued,
        "every Vault token is revoked on shutdown (unexpected requests: {unexpected:?})\n{log}"
    );
    assert_eq!(
        holder(&cluster, &ns, &lease),
        None,
        "the Lease is released on graceful shutdown"
    );
    assert!(log.contains("in-flight reconciles finished"), "{log}");
}

#[test]
fn readyz_waits_until_every_watch_has_listed() {
    // Without the ClusterExternalSecret CRD that controller's watches cannot list (API double
    // only: a real cluster keeps its CRDs, and only the final readiness is checked there).
    let mut cluster = Cluster::start_without(Some("clusterexternalsecrets"));
    let ns = cluster.namespace("readyz");
    let store = format!("store-{:08x}", support::rand_u32());
    cluster.cleanup.push(vec![
        "delete".into(),
        "clustersecretstore".into(),
        store.clone(),
    ]);
    cluster.apply(&format!(
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {{name: {store}}}\n\
         spec: {{provider: {{fake: {{data: [{{key: k1, value: v1}}]}}}}}}\n"
    ));
    cluster.apply(&format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: app, namespace: {ns}}}\n\
         spec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}\n  target: {{name: app}}\n\
         \x20 data: [{{secretKey: one, remoteRef: {{key: k1}}}}]\n"
    ));
    let mut op = Operator::start(&cluster, &[format!("--operator-namespace={ns}")]);
    if cluster.is_double() {
        wait_for(Duration::from_secs(60), "the Secret", || {
            secret_value(&cluster, &ns, "app", "one")
        });
        assert!(op.alive(), "{}", op.log_text());
        assert!(
            !op.ready(),
            "/readyz is ready although the ClusterExternalSecret watch never listed\n{}",
            op.log_text()
        );
        cluster.kubectl_ok(&[
            "apply",
            "-f",
            &support::repo_root()
                .join("deploy/crds/clusterexternalsecrets.external-secrets.io.yaml")
                .to_string_lossy(),
        ]);
    }
    wait_for(
        Duration::from_secs(60),
        "/readyz once every watch listed",
        || op.ready().then_some(()),
    );
    let exit = op.terminate(Duration::from_secs(20));
    assert!(exit.success(), "{exit:?}");
}
