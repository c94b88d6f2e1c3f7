//! OpenBao (`bao server -dev`) on a loopback port, plain HTTP or TLS with a generated CA.
//!
//! Dev mode keeps everything in memory: after [`Bao::stop`] + [`Bao::start_again`] (or
//! [`Bao::restart`]) the server comes back on the same port with the same root token (and the same
//! CA for TLS), but every mount, secret, policy and auth method written before is gone. The stock
//! `secret/` KV v2 mount is recreated; an audit device enabled with [`Bao::enable_audit_file`] is
//! re-enabled on the same file (which keeps the earlier entries).

use std::path::{Path, PathBuf};

use rand::Rng as _;
use rustix::process::Signal;
use secrecy::{ExposeSecret as _, SecretString};

use super::process::{PeerProcess, ProcessSpec, READY_TIMEOUT, free_loopback_port, with_free_port};
use super::{PeerError, paths};

const PEER: &str = "bao";

/// TLS material of a TLS instance: a CA made for this instance and a server certificate for
/// `127.0.0.1` and `localhost` signed by it.
#[derive(Debug)]
struct Tls {
    ca_pem: String,
    ca_file: PathBuf,
    cert_file: PathBuf,
    key_file: PathBuf,
}

/// OpenBao 2 refuses `PUT sys/audit/...` unless the config allows it; tests want the API.
const ALLOW_API_AUDIT: &str = "unsafe_allow_api_audit_creation = true\n";

/// The Kubernetes auth method set up by [`Bao::enable_kubernetes_auth`].
#[derive(Debug, Clone)]
pub struct KubernetesAuth {
    /// Mount path under `auth/` (ESO's default is `kubernetes`).
    pub mount: String,
    /// Role name.
    pub role: String,
    /// The ServiceAccount the role is bound to.
    pub service_account: String,
    /// Its namespace.
    pub service_account_namespace: String,
    /// API server OpenBao sends TokenReviews to.
    pub api_server_url: String,
    /// PEM CA of that API server.
    pub api_server_ca_pem: String,
}

/// A running (or stopped) OpenBao dev server, stopped on drop.
#[derive(Debug)]
pub struct Bao {
    process: Option<PeerProcess>,
    dir: tempfile::TempDir,
    port: u16,
    tls: Option<Tls>,
    root_token: SecretString,
    http: reqwest::Client,
    audit_log: Option<PathBuf>,
}

impl Bao {
    /// Starts a plain-HTTP dev server with a random root token.
    pub async fn start() -> Result<Self, PeerError> {
        Self::launch(false).await
    }

    /// Starts a dev server that serves HTTPS only, with a certificate from a fresh CA
    /// (see [`Bao::ca_pem`]).
    pub async fn start_tls() -> Result<Self, PeerError> {
        Self::launch(true).await
    }

    async fn launch(tls: bool) -> Result<Self, PeerError> {
        let binary = paths::peer_binary("bao")?;
        let token: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        // No "s."/"hvs." prefix: OpenBao reserves those for tokens it generates.
        let root_token = SecretString::from(token);
        with_free_port(PEER, |port| {
            let binary = binary.clone();
            let root_token = root_token.clone();
            async move {
                let dir = tempfile::Builder::new()
                    .prefix("secretsync-bao-")
                    .tempdir()
                    .map_err(PeerError::io(PEER, "creating a temp dir"))?;
                let tls = if tls {
                    Some(write_tls_material(dir.path())?)
                } else {
                    None
                };
                write_config(dir.path(), port, tls.as_ref())?;
                let http = client(tls.as_ref())?;
                let mut bao = Self {
                    process: None,
                    dir,
                    port,
                    tls,
                    root_token,
                    http,
                    audit_log: None,
                };
                bao.spawn_and_wait(&binary).await?;
                Ok(bao)
            }
        })
        .await
    }

    async fn spawn_and_wait(&mut self, binary: &Path) -> Result<(), PeerError> {
        let mut args: Vec<String> = vec![
            "server".into(),
            "-dev".into(),
            "-dev-no-store-token".into(),
            format!("-config={}", self.dir.path().join(CONFIG_FILE).display()),
        ];
        let dev_port = if self.tls.is_some() {
            // Dev mode always adds its own plain listener; park it on another free port.
            free_loopback_port().map_err(PeerError::io(PEER, "finding a free port"))?
        } else {
            self.port
        };
        args.push(format!("-dev-listen-address=127.0.0.1:{dev_port}"));
        let spec = ProcessSpec {
            peer: PEER,
            program: binary.to_path_buf(),
            args: args.into_iter().map(Into::into).collect(),
            envs: vec![
                // The token goes through the environment, not argv (visible in `ps`).
                (
                    "BAO_DEV_ROOT_TOKEN_ID".into(),
                    self.root_token.expose_secret().into(),
                ),
                ("HOME".into(), self.dir.path().as_os_str().to_owned()),
                ("BAO_LOG_LEVEL".into(), "info".into()),
            ],
            dir: self.dir.path().to_path_buf(),
            log: self.dir.path().join("bao.log"),
            run_as: None,
            stop_signal: Signal::TERM,
            redact: vec![self.root_token.expose_secret().to_string()],
        };
        let mut process = PeerProcess::spawn(spec)?;
        let health = format!("{}/v1/sys/health", self.addr());
        let http = self.http.clone();
        process
            .wait_ready(READY_TIMEOUT, || {
                let probe = http
                    .get(&health)
                    .timeout(std::time::Duration::from_secs(2))
                    .send();
                async move {
                    match probe.await {
                        Ok(response) if response.status().is_success() => Ok(()),
                        Ok(response) => Err(format!("GET /v1/sys/health: {}", response.status())),
                        Err(err) => Err(format!("GET /v1/sys/health: {err}")),
                    }
                }
            })
            .await?;
        self.process = Some(process);
        Ok(())
    }

    /// Base address, `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The loopback port (kept across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The root token.
    pub fn root_token(&self) -> &SecretString {
        &self.root_token
    }

    /// PEM of the CA that signed the server certificate (TLS instances only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|tls| tls.ca_pem.as_str())
    }

    /// File holding [`Bao::ca_pem`] (TLS instances only).
    pub fn ca_path(&self) -> Option<&Path> {
        self.tls.as_ref().map(|tls| tls.ca_file.as_path())
    }

    /// An HTTP client that trusts this instance (its CA for TLS).
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// PID of the server process, if running.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(PeerProcess::pid)
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(PeerProcess::is_running)
    }

    /// The server's log file (stdout and stderr; the root token appears in it).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("bao.log")
    }

    /// Calls the HTTP API as root: `path` is relative to `/v1/` (e.g. `sys/mounts`,
    /// `secret/data/app`). Returns the JSON answer, or `Value::Null` for an empty one.
    pub async fn sys_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, PeerError> {
        if self.process.is_none() {
            return Err(PeerError::NotRunning { peer: PEER });
        }
        let path = path.trim_start_matches('/').trim_start_matches("v1/");
        let request_name = format!("{method} /v1/{path}");
        let mut request = self
            .http
            .request(method, format!("{}/v1/{path}", self.addr()))
            .header("X-Vault-Token", self.root_token.expose_secret());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|err| PeerError::Request {
            peer: PEER,
            request: request_name.clone(),
            detail: err.to_string(),
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|err| PeerError::Request {
            peer: PEER,
            request: request_name.clone(),
            detail: err.to_string(),
        })?;
        if !status.is_success() {
            return Err(PeerError::Request {
                peer: PEER,
                request: request_name,
                detail: format!("{status}: {}", text.chars().take(500).collect::<String>()),
            });
        }
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&text).map_err(|err| PeerError::Request {
            peer: PEER,
            request: request_name,
            detail: format!("answer is not JSON: {err}"),
        })
    }

    /// Mounts the database secrets engine at `database/` managing `postgres` (connection `pg`)
    /// with role `app`, whose credentials are PostgreSQL login roles valid for `default_ttl`,
    /// renewable up to `max_ttl` (Vault durations: `3s`, `1h`). Read them at
    /// `database/creds/app`.
    pub async fn enable_database_engine(
        &self,
        postgres: &super::Postgres,
        default_ttl: &str,
        max_ttl: &str,
    ) -> Result<(), PeerError> {
        let post = |path: &'static str, body: serde_json::Value| async move {
            self.sys_request(reqwest::Method::POST, path, Some(body))
                .await
                .map(drop)
        };
        post(
            "sys/mounts/database",
            serde_json::json!({"type": "database"}),
        )
        .await?;
        post(
            "database/config/pg",
            serde_json::json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": format!(
                    "postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable",
                    postgres.port()
                ),
                "username": postgres.user(),
                "password": postgres.password().expose_secret(),
                "allowed_roles": "app",
            }),
        )
        .await?;
        post(
            "database/roles/app",
            serde_json::json!({
                "db_name": "pg",
                "creation_statements": [
                    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
                ],
                "default_ttl": default_ttl,
                "max_ttl": max_ttl,
            }),
        )
        .await
    }

    /// Enables the Kubernetes auth method at `auth/<mount>` reviewing login tokens against the
    /// API server in `auth` (with each login token itself: no reviewer JWT), and a role that
    /// may read every KV v2 secret of the stock `secret/` mount.
    pub async fn enable_kubernetes_auth(&self, auth: &KubernetesAuth) -> Result<(), PeerError> {
        let post = |path: String, body: serde_json::Value| async move {
            self.sys_request(reqwest::Method::POST, &path, Some(body))
                .await
                .map(drop)
        };
        let mount = &auth.mount;
        post(
            format!("sys/auth/{mount}"),
            serde_json::json!({"type": "kubernetes"}),
        )
        .await?;
        post(
            format!("auth/{mount}/config"),
            serde_json::json!({
                "kubernetes_host": auth.api_server_url,
                "kubernetes_ca_cert": auth.api_server_ca_pem,
                "disable_local_ca_jwt": true,
            }),
        )
        .await?;
        let policy = format!("{}-read", auth.role);
        post(
            format!("sys/policies/acl/{policy}"),
            serde_json::json!({"policy": "path \"secret/data/*\" { capabilities = [\"read\"] }\npath \"secret/metadata/*\" { capabilities = [\"read\", \"list\"] }"}),
        )
        .await?;
        post(
            format!("auth/{mount}/role/{}", auth.role),
            serde_json::json!({
                "bound_service_account_names": [auth.service_account],
                "bound_service_account_namespaces": [auth.service_account_namespace],
                "token_policies": [policy],
                "token_ttl": "1h",
            }),
        )
        .await
    }

    /// Enables the `file` audit device and returns the log path (one JSON object per request
    /// and response; secret values are HMAC'd by OpenBao). Re-enabled after a restart.
    pub async fn enable_audit_file(&mut self) -> Result<PathBuf, PeerError> {
        let path = self.dir.path().join("audit.log");
        self.enable_audit_device(&path).await?;
        self.audit_log = Some(path.clone());
        Ok(path)
    }

    async fn enable_audit_device(&self, path: &Path) -> Result<(), PeerError> {
        let body = serde_json::json!({"type": "file", "options": {"file_path": path}});
        self.sys_request(reqwest::Method::PUT, "sys/audit/file", Some(body))
            .await
            .map(drop)
    }

    /// Stops the server (SIGTERM to its process group, SIGKILL after 10 s); a no-op when stopped.
    /// The port is not held meanwhile: [`Bao::start_again`] binds it again.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
    }

    /// Starts a stopped server again on the same port, with the same root token and CA.
    /// Dev mode starts empty: see the module docs. Fails (with the log tail saying "address
    /// already in use") if another process took the port meanwhile; no other port is tried.
    pub async fn start_again(&mut self) -> Result<(), PeerError> {
        if self.process.is_some() {
            return Ok(());
        }
        let binary = paths::peer_binary("bao")?;
        self.spawn_and_wait(&binary).await?;
        if let Some(path) = self.audit_log.clone() {
            self.enable_audit_device(&path).await?;
        }
        Ok(())
    }

    /// [`Bao::stop`] then [`Bao::start_again`].
    pub async fn restart(&mut self) -> Result<(), PeerError> {
        self.stop();
        self.start_again().await
    }
}

fn client(tls: Option<&Tls>) -> Result<reqwest::Client, PeerError> {
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30));
    if let Some(tls) = tls {
        let ca = reqwest::Certificate::from_pem(tls.ca_pem.as_bytes()).map_err(|err| {
            PeerError::Request {
                peer: PEER,
                request: "loading the test CA".into(),
                detail: err.to_string(),
            }
        })?;
        builder = builder.tls_certs_only([ca]);
    }
    builder.build().map_err(|err| PeerError::Request {
        peer: PEER,
        request: "building an HTTP client".into(),
        detail: err.to_string(),
    })
}

const CONFIG_FILE: &str = "bao.hcl";

/// Writes the server config: API audit creation allowed, plus the TLS listener for TLS instances.
fn write_config(dir: &Path, port: u16, tls: Option<&Tls>) -> Result<(), PeerError> {
    let mut config = String::from(ALLOW_API_AUDIT);
    if let Some(tls) = tls {
        config.push_str(&format!(
            "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
            tls.cert_file.display(),
            tls.key_file.display()
        ));
    }
    let path = dir.join(CONFIG_FILE);
    std::fs::write(&path, config)
        .map_err(PeerError::io(PEER, format!("writing {}", path.display())))
}

/// Generates a CA and a server certificate for 127.0.0.1/localhost and writes them to `dir`.
fn write_tls_material(dir: &Path) -> Result<Tls, PeerError> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let tls_error = |err: rcgen::Error| PeerError::Request {
        peer: PEER,
        request: "generating test certificates".into(),
        detail: err.to_string(),
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "secretsync test CA (bao)");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(tls_error)?)
        .map_err(tls_error)?;

    let server_key = KeyPair::generate().map_err(tls_error)?;
    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(tls_error)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let server_cert = server_params
        .signed_by(&server_key, &ca)
        .map_err(tls_error)?;

    let ca_pem = ca.pem();
    let ca_file = dir.join("ca.pem");
    let cert_file = dir.join("server.pem");
    let key_file = dir.join("server-key.pem");
    let write = |path: &Path, contents: &str| {
        std::fs::write(path, contents)
            .map_err(PeerError::io(PEER, format!("writing {}", path.display())))
    };
    write(&ca_file, &ca_pem)?;
    write(&cert_file, &server_cert.pem())?;
    write(&key_file, &server_key.serialize_pem())?;
    Ok(Tls {
        ca_pem,
        ca_file,
        cert_file,
        key_file,
    })
}
