//! An in-process Kubernetes API server double.
//!
//! [`KubeApiServer::start`] serves HTTPS (generated CA, certificate for `127.0.0.1` and
//! `localhost`) on a free loopback port, from a dedicated thread with its own tokio runtime, so
//! it works from `#[tokio::test]` (any flavour) and from plain `#[test]` functions
//! ([`KubeApiServer::start_blocking`]). Dropping the handle shuts the server down.
//!
//! See the "Kubernetes API double" section of the crate README for what is and is not
//! implemented.

mod auth;
mod cel;
mod crud;
mod http;
mod kinds;
mod metadata;
mod objects;
mod openapi;
mod patch;
mod protobuf;
mod rbac;
mod registry;
mod reviews;
mod schema;
mod selectors;
mod server;
pub mod ssa;
mod state;
mod status;
mod store;
mod tls;
mod tokens;
mod util;
mod validation;
mod watch;

pub use http::{RequestRecord, count_by_kind};
pub use validation::MAX_SECRET_SIZE;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use serde_json::Value;
use state::State;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Errors starting the double.
#[derive(Debug, thiserror::Error)]
pub enum KubeApiError {
    /// Socket or runtime setup failed.
    #[error("kube-api double: {0}")]
    Io(#[from] std::io::Error),
    /// Key or certificate generation failed.
    #[error("kube-api double: {0}")]
    Crypto(String),
    /// A CRD file could not be loaded.
    #[error("kube-api double: CRD file {path}: {message}")]
    Crd {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// Building a kube client failed.
    #[error("kube-api double: building kube client: {0}")]
    Client(String),
}

/// Options for [`KubeApiServer::start`].
#[derive(Debug, Clone)]
pub struct KubeApiOptions {
    /// Directory whose `*.yaml`/`*.yml`/`*.json` CustomResourceDefinitions are installed at start.
    pub crd_dir: Option<PathBuf>,
    /// Namespaces created at start in addition to `default`, `kube-system` and `kube-public`.
    pub namespaces: Vec<String>,
    /// Also serve plain HTTP on a second port ([`KubeApiServer::http_url`]).
    pub serve_http: bool,
    /// How many changes are kept for watch resumption; older resourceVersions get 410 Gone.
    pub watch_history: usize,
    /// How often watches with `allowWatchBookmarks=true` get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// `iss` of issued tokens; defaults to the server URL (so OIDC discovery works against it).
    pub issuer: Option<String>,
}

impl Default for KubeApiOptions {
    fn default() -> Self {
        Self {
            crd_dir: None,
            namespaces: Vec::new(),
            serve_http: false,
            watch_history: 1000,
            bookmark_interval: Duration::from_secs(5),
            issuer: None,
        }
    }
}

/// State shared by all connections.
pub(crate) struct Shared {
    state: Mutex<State>,
    tokens: tokens::TokenIssuer,
    admin_token: String,
    host_port: String,
    bookmark_interval: Duration,
    log: Mutex<Vec<RequestRecord>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, r: RequestRecord) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).push(r);
    }
}

/// A running API server double. Dropping it stops the server.
pub struct KubeApiServer {
    shared: Arc<Shared>,
    url: String,
    http_url: Option<String>,
    ca_pem: String,
    ca_der: Vec<u8>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for KubeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApiServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn load_crds(state: &mut State, dir: &Path) -> Result<(), KubeApiError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    let ctx = objects::WriteCtx {
        manager: "secretsync-testkit".into(),
        version: "v1".into(),
        subresource: None,
        dry_run: false,
        strict: false,
    };
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let crd_err = |message: String| KubeApiError::Crd {
            path: path.clone(),
            message,
        };
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v: Value =
                serde::Deserialize::deserialize(doc).map_err(|e| crd_err(e.to_string()))?;
            if v.is_null() {
                continue;
            }
            // A kustomization next to the CRDs (as in deploy/crds) is not a resource.
            if v["kind"] == "Kustomization" {
                continue;
            }
            if v["kind"] != "CustomResourceDefinition" {
                return Err(crd_err(format!(
                    "expected kind CustomResourceDefinition, found {}",
                    v["kind"]
                )));
            }
            let rt = state
                .registry
                .by_plural("apiextensions.k8s.io", "customresourcedefinitions")
                .ok_or_else(|| crd_err("CRD type missing".into()))?;
            objects::create(state, &rt, None, v, &ctx, None).map_err(|e| crd_err(e.message))?;
        }
    }
    Ok(())
}

impl KubeApiServer {
    /// Starts the double (async convenience wrapper around [`KubeApiServer::start_blocking`]).
    pub async fn start(options: KubeApiOptions) -> Result<KubeApiServer, KubeApiError> {
        Self::start_blocking(options)
    }

    /// Starts the double on its own thread and runtime; usable from synchronous tests.
    pub fn start_blocking(options: KubeApiOptions) -> Result<KubeApiServer, KubeApiError> {
        let pki = tls::generate().map_err(KubeApiError::Crypto)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let url = format!("https://127.0.0.1:{port}");
        let http_listener = if options.serve_http {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.set_nonblocking(true)?;
            Some(l)
        } else {
            None
        };
        let http_url = match &http_listener {
            Some(l) => Some(format!("http://127.0.0.1:{}", l.local_addr()?.port())),
            None => None,
        };
        let issuer = options.issuer.clone().unwrap_or_else(|| url.clone());
        let tokens = tokens::TokenIssuer::new(issuer).map_err(KubeApiError::Crypto)?;
        let mut state = State::new(options.watch_history);
        state.root_ca_pem = Some(pki.ca_pem.clone());
        let ns_rt = state
            .registry
            .by_plural("", "namespaces")
            .ok_or_else(|| KubeApiError::Crypto("namespace type missing".into()))?;
        let ctx = objects::WriteCtx {
            manager: "secretsync-testkit".into(),
            version: "v1".into(),
            subresource: None,
            dry_run: false,
            strict: false,
        };
        let mut names: Vec<String> =
            vec!["default".into(), "kube-system".into(), "kube-public".into()];
        names.extend(options.namespaces.iter().cloned());
        names.dedup();
        for ns in names {
            let obj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let _ = objects::create(&mut state, &ns_rt, None, obj, &ctx, None);
        }
        for (resource, obj) in rbac::bootstrap_objects() {
            let rt = state
                .registry
                .by_plural("rbac.authorization.k8s.io", resource)
                .ok_or_else(|| KubeApiError::Crypto(format!("{resource} type missing")))?;
            objects::create(&mut state, &rt, None, obj, &ctx, None)
                .map_err(|e| KubeApiError::Crypto(e.message))?;
        }
        if let Some(dir) = &options.crd_dir {
            load_crds(&mut state, dir)?;
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            tokens,
            admin_token: format!("admin-{}", uuid::Uuid::new_v4().simple()),
            host_port: format!("127.0.0.1:{port}"),
            bookmark_interval: options.bookmark_interval,
            log: Mutex::new(Vec::new()),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-api-double")
            .enable_all()
            .build()?;
        let shared_for_thread = shared.clone();
        let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config.clone());
        let thread = std::thread::Builder::new()
            .name("kube-api-double".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(l) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let https =
                        tokio::spawn(server::serve(l, Some(acceptor), shared_for_thread.clone()));
                    let http = http_listener
                        .and_then(|hl| tokio::net::TcpListener::from_std(hl).ok())
                        .map(|hl| tokio::spawn(server::serve(hl, None, shared_for_thread.clone())));
                    let _ = rx.await;
                    https.abort();
                    if let Some(h) = http {
                        h.abort();
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(KubeApiServer {
            shared,
            url,
            http_url,
            ca_pem: pki.ca_pem,
            ca_der: pki.ca_der,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The HTTPS base URL, e.g. `https://127.0.0.1:43211`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The plain-HTTP base URL when [`KubeApiOptions::serve_http`] is set.
    pub fn http_url(&self) -> Option<&str> {
        self.http_url.as_deref()
    }

    /// The CA certificate (PEM) that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The bearer token with full access.
    pub fn admin_token(&self) -> &str {
        &self.shared.admin_token
    }

    /// The `iss` of service-account tokens (also the default audience).
    pub fn service_account_issuer(&self) -> &str {
        self.shared.tokens.issuer()
    }

    /// A kubeconfig (YAML) with cluster, admin user and context `secretsync-testkit`
    /// (default namespace `default`).
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: secretsync-testkit\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: secretsync-testkit-admin\n  user:\n    token: {}\ncontexts:\n- name: secretsync-testkit\n  context:\n    cluster: secretsync-testkit\n    user: secretsync-testkit-admin\n    namespace: default\ncurrent-context: secretsync-testkit\npreferences: {{}}\n",
            self.url,
            STANDARD.encode(self.ca_pem.as_bytes()),
            self.shared.admin_token
        )
    }

    /// Writes [`KubeApiServer::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// A `kube::Client` authenticated as admin, default namespace `default`.
    pub fn client(&self) -> Result<kube::Client, KubeApiError> {
        self.client_with_token(&self.shared.admin_token.clone())
    }

    /// A `kube::Client` using `token` (e.g. one from a TokenRequest).
    pub fn client_with_token(&self, token: &str) -> Result<kube::Client, KubeApiError> {
        let uri: ::http::Uri = self
            .url
            .parse()
            .map_err(|e: ::http::uri::InvalidUri| KubeApiError::Client(e.to_string()))?;
        let mut config = kube::Config::new(uri);
        config.root_cert = Some(vec![self.ca_der.clone()]);
        config.auth_info.token = Some(SecretString::from(token.to_string()));
        config.default_namespace = "default".into();
        kube::Client::try_from(config).map_err(|e| KubeApiError::Client(e.to_string()))
    }

    /// A one-hour token (API audience) for the existing ServiceAccount `namespace/name`, as a
    /// TokenRequest would issue it; `None` when the ServiceAccount does not exist. Requests made
    /// with it are authorized by RBAC.
    pub fn service_account_token(&self, namespace: &str, name: &str) -> Option<String> {
        let uid = {
            let state = self.shared.lock();
            let sa = state.store.get(&store::ObjKey {
                group: String::new(),
                resource: "serviceaccounts".into(),
                namespace: namespace.into(),
                name: name.into(),
            })?;
            sa["metadata"]["uid"].as_str()?.to_string()
        };
        let audience = self.shared.tokens.api_audience().to_string();
        self.shared
            .tokens
            .issue(
                namespace,
                name,
                &uid,
                &[audience],
                tokens::DEFAULT_EXPIRATION_SECONDS,
            )
            .ok()
            .map(|(token, _)| token)
    }

    /// Every request handled so far (since the last [`KubeApiServer::reset_counters`]).
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many requests had `verb` on `resource` (plural, any group).
    pub fn request_count(&self, verb: &str, resource: &str) -> usize {
        self.request_log()
            .iter()
            .filter(|r| r.verb == verb && r.resource == resource)
            .count()
    }

    /// How many write requests (create/update/patch/delete/deletecollection) were made.
    pub fn write_count(&self) -> usize {
        self.request_log().iter().filter(|r| r.is_write()).count()
    }

    /// Clears the request log.
    pub fn reset_counters(&self) {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Number of stored objects (all types).
    pub fn object_count(&self) -> usize {
        self.shared.lock().store.len()
    }
}

impl Drop for KubeApiServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
