//! Command-line flags (every flag also reads an environment variable) and their validation.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use secretsync_providers::{AmbientIdentity, ProviderOptions, ReadLimits};

/// Flags of `secretsync-operator`.
#[derive(Debug, Parser)]
#[command(
    name = "secretsync-operator",
    version,
    about = "Syncs external secrets into Kubernetes Secrets"
)]
pub struct Args {
    /// Concurrent reconciles per controller. Default 24: a first sync waits on its provider
    /// read and then on the API server (two or three requests per ExternalSecret, one after
    /// the other). On a real kube-apiserver here, 10,000 first syncs ran at 165–214/s (mean
    /// 186, five runs) with 24 slots, 169–186/s (mean 175, four) with 16, 111.5/s with 4
    /// (`docs/benchmarks.md`, issue #20).
    #[arg(long, env = "SECRETSYNC_CONCURRENCY", default_value_t = 24)]
    pub concurrency: u16,
    /// Watch only this namespace (namespace-scoped install, RBAC of a Role in that namespace);
    /// unset watches all namespaces. Implies `--no-cluster-resources`: cluster-scoped kinds
    /// cannot be watched with a Role.
    #[arg(long, env = "SECRETSYNC_NAMESPACE")]
    pub namespace: Option<String>,
    /// Serve only stores whose `spec.controller` is this class; unset serves stores without a class.
    #[arg(long, env = "SECRETSYNC_CONTROLLER_CLASS")]
    pub controller_class: Option<String>,
    /// Namespace the operator runs in (drift key Secret, default Lease namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "secretsync-system")]
    pub operator_namespace: String,
    /// Name of the Secret holding the drift-detection HMAC key.
    #[arg(
        long,
        env = "SECRETSYNC_DRIFT_KEY_SECRET",
        default_value = "secretsync-drift-key"
    )]
    pub drift_key_secret: String,
    /// Address of the Prometheus `/metrics` endpoint.
    #[arg(long, env = "SECRETSYNC_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: String,
    /// Address of the `/healthz` and `/readyz` endpoints (may equal the metrics address).
    #[arg(long, env = "SECRETSYNC_HEALTH_ADDR", default_value = "0.0.0.0:8081")]
    pub health_addr: String,
    /// Address of the refresh-on-demand endpoint (`POST /refresh/namespaces/NS/externalsecrets/NAME`
    /// with a Kubernetes bearer token allowed to patch that ExternalSecret); off when unset.
    #[arg(long, env = "SECRETSYNC_REFRESH_ADDR")]
    pub refresh_addr: Option<String>,
    /// Run controllers only while holding a coordination.k8s.io/v1 Lease.
    #[arg(long, env = "SECRETSYNC_LEADER_ELECT")]
    pub leader_elect: bool,
    /// Lease name; defaults to `secretsync-operator[-<class>][-<namespace>]` so operators with
    /// different classes or scopes never share a Lease.
    #[arg(long, env = "SECRETSYNC_LEADER_ELECTION_LEASE_NAME")]
    pub leader_election_lease_name: Option<String>,
    /// Namespace of the Lease; defaults to the operator namespace.
    #[arg(long, env = "SECRETSYNC_LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// How long a Lease stays valid without renewal (e.g. `15s`).
    #[arg(
        long,
        env = "SECRETSYNC_LEADER_ELECTION_LEASE_DURATION",
        default_value = "15s"
    )]
    pub leader_election_lease_duration: String,
    /// The leader gives up if it could not renew for this long (must be < lease duration).
    #[arg(
        long,
        env = "SECRETSYNC_LEADER_ELECTION_RENEW_DEADLINE",
        default_value = "10s"
    )]
    pub leader_election_renew_deadline: String,
    /// Interval between acquire/renew attempts (must be < renew deadline).
    #[arg(
        long,
        env = "SECRETSYNC_LEADER_ELECTION_RETRY_PERIOD",
        default_value = "2s"
    )]
    pub leader_election_retry_period: String,
    /// Identity written to the Lease; defaults to the pod name or the host name plus a random suffix.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `secretsync_kube=debug`).
    #[arg(long, env = "SECRETSYNC_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log as JSON lines.
    #[arg(long, env = "SECRETSYNC_LOG_JSON")]
    pub log_json: bool,
    /// Sustained Kubernetes API requests per second (token bucket refill rate). High enough for
    /// a first sync at the API server's speed (≤ 3 requests per ExternalSecret); the server's
    /// flow control (429 + Retry-After) slows the whole client down when it is busy.
    #[arg(long, env = "SECRETSYNC_KUBE_API_QPS", default_value_t = 1000.0)]
    pub kube_api_qps: f64,
    /// Kubernetes API request burst (token bucket size).
    #[arg(long, env = "SECRETSYNC_KUBE_API_BURST", default_value_t = 1000)]
    pub kube_api_burst: u32,
    /// Refreshes are scheduled up to this fraction of `refreshInterval` early (0 to 0.5).
    #[arg(long, env = "SECRETSYNC_REFRESH_JITTER", default_value_t = 0.1)]
    pub refresh_jitter: f64,
    /// ExternalSecrets that read the same remote keys refresh together (one provider read per
    /// key and interval; each member writes within min(interval/30, 2 min) after the group's
    /// read); `false` spreads every object by its own jitter instead.
    #[arg(long, env = "SECRETSYNC_ALIGN_REFRESHES", default_value_t = true, action = clap::ArgAction::Set)]
    pub align_refreshes: bool,
    /// ESO's flood gate: do not sync ExternalSecrets from stores whose `Ready` condition is not
    /// `True` (they report `Ready=False` and retry). `--enable-flood-gate=false` turns it off.
    #[arg(
        long,
        env = "SECRETSYNC_ENABLE_FLOOD_GATE",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub enable_flood_gate: bool,
    /// Do not run the ClusterSecretStore / ClusterExternalSecret controllers nor accept
    /// ClusterSecretStore references (always so with `--namespace`).
    #[arg(long, env = "SECRETSYNC_NO_CLUSTER_RESOURCES")]
    pub no_cluster_resources: bool,
    /// Deadline of one ExternalSecret reconcile once it holds a sync slot (e.g. `2m`); past it
    /// the reconcile is abandoned and reported as that ExternalSecret's sync error (retried
    /// with backoff), so a slow tenant endpoint cannot hold a slot for ever.
    #[arg(long, env = "SECRETSYNC_RECONCILE_TIMEOUT", default_value = "2m")]
    pub reconcile_timeout: String,
    /// Rendered Secrets kept in memory for drift repair without a provider read; the least
    /// recently used is dropped beyond this (and re-read from its provider when next needed).
    /// Each holds its Secret's values (about 1.3 KB for a small Secret).
    #[arg(long, env = "SECRETSYNC_RENDER_CACHE_SIZE", default_value_t = 1_000)]
    pub render_cache_size: usize,
    /// How long shutdown waits for the Lease release and provider close.
    #[arg(long, env = "SECRETSYNC_SHUTDOWN_TIMEOUT", default_value = "20s")]
    pub shutdown_timeout: String,
    /// How often the memory the process freed is given back to the system (glibc keeps the
    /// pages of the first sync's peak resident otherwise: 24 MiB at 10,000 ExternalSecrets);
    /// `0` never.
    #[arg(long, env = "SECRETSYNC_MEMORY_RELEASE_INTERVAL", default_value = "1m")]
    pub memory_release_interval: String,
    /// Let namespaced SecretStores use the operator's own identity, as ESO does: its
    /// ServiceAccount token (Vault `kubernetes` auth without `serviceAccountRef`/`secretRef`),
    /// its Azure federated token (`WorkloadIdentity` without `serviceAccountRef`), the node's
    /// managed identity, the ambient AWS credentials, and Azure hosts outside the cloud's
    /// official domains. RISK: anyone who may create a SecretStore can then read whatever the
    /// operator's identity may read, and make the operator send that identity's token to a
    /// server of their choosing. Off by default: only ClusterSecretStores may.
    #[arg(long, env = "SECRETSYNC_ALLOW_OPERATOR_IDENTITY_IN_SECRET_STORES")]
    pub allow_operator_identity_in_secret_stores: bool,
    /// Largest provider response body read, in bytes; longer answers fail the read.
    #[arg(
        long,
        env = "SECRETSYNC_PROVIDER_MAX_RESPONSE_BYTES",
        default_value_t = ReadLimits::default().max_response_bytes
    )]
    pub provider_max_response_bytes: usize,
    /// Most remote secrets one `dataFrom[].find` may return (checked before any is read).
    #[arg(
        long,
        env = "SECRETSYNC_PROVIDER_MAX_FIND_RESULTS",
        default_value_t = ReadLimits::default().max_find_results
    )]
    pub provider_max_find_results: usize,
    /// Most pages (Azure `nextLink`, AWS `NextToken`) or Vault LIST calls one listing may take.
    #[arg(
        long,
        env = "SECRETSYNC_PROVIDER_MAX_LIST_PAGES",
        default_value_t = ReadLimits::default().max_list_pages
    )]
    pub provider_max_list_pages: usize,
    /// Deepest folder level a Vault `find` descends to below its path.
    #[arg(
        long,
        env = "SECRETSYNC_PROVIDER_MAX_LIST_DEPTH",
        default_value_t = ReadLimits::default().max_list_depth
    )]
    pub provider_max_list_depth: usize,
    /// Time limit of one provider HTTP request, from connecting until its whole body is read.
    #[arg(
        long,
        env = "SECRETSYNC_PROVIDER_REQUEST_TIMEOUT",
        default_value = "30s"
    )]
    pub provider_request_timeout: String,
}

/// Provider settings from the flags, applied to the providers' options.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    /// Who may use the operator's own identity.
    pub ambient_identity: AmbientIdentity,
    /// Read limits.
    pub limits: ReadLimits,
    /// Time limit of one provider request.
    pub request_timeout: Duration,
}

impl ProviderSettings {
    /// Applies the settings to provider options read from the environment.
    pub fn apply(&self, mut options: ProviderOptions) -> ProviderOptions {
        options.ambient_identity = self.ambient_identity;
        options.limits = self.limits;
        options.vault.request_timeout = self.request_timeout;
        options.azure.request_timeout = self.request_timeout;
        options.aws.attempt_timeout = self.request_timeout;
        options.aws.operation_timeout = self.request_timeout;
        options
    }
}

pub use secretsync_kube::leader::LeaderSettings;

/// Validated settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Controller configuration handed to `secretsync_kube::run`.
    pub controllers: secretsync_kube::Config,
    /// `/metrics` address.
    pub metrics_addr: SocketAddr,
    /// `/healthz`, `/readyz` address.
    pub health_addr: SocketAddr,
    /// Refresh-on-demand address, when enabled.
    pub refresh_addr: Option<SocketAddr>,
    /// `Some` when leader election is on.
    pub leader: Option<LeaderSettings>,
    /// Log filter.
    pub log_level: String,
    /// JSON logs.
    pub log_json: bool,
    /// Kube API requests per second.
    pub kube_api_qps: f64,
    /// Kube API burst.
    pub kube_api_burst: u32,
    /// Shutdown budget.
    pub shutdown_timeout: Duration,
    /// How often freed memory is given back to the system (zero: never).
    pub memory_release_interval: Duration,
    /// Provider identity rule, limits and timeout.
    pub providers: ProviderSettings,
}

/// Parses `500ms`, `15s`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(flag: &str, text: &str) -> anyhow::Result<Duration> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let value: f64 = number.parse().with_context(|| {
        format!("--{flag}: expected a duration like 15s, 500ms or 2m, got {text:?}")
    })?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => bail!("--{flag}: unknown unit {unit:?} in {text:?} (use ms, s, m or h)"),
    };
    if !secs.is_finite() || secs <= 0.0 {
        bail!("--{flag}: must be greater than zero, got {text:?}");
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_addr(flag: &str, text: &str) -> anyhow::Result<SocketAddr> {
    text.parse()
        .with_context(|| format!("--{flag}: expected an address like 0.0.0.0:8080, got {text:?}"))
}

/// The default Lease name: distinct per controller class and namespace scope (ESO #6079).
pub fn default_lease_name(class: Option<&str>, namespace: Option<&str>) -> String {
    let mut name = "secretsync-operator".to_string();
    for part in [class, namespace].into_iter().flatten() {
        name.push('-');
        name.push_str(part);
    }
    // Lease names are DNS subdomains (253 characters).
    name.truncate(253);
    name
}

/// Whether the cluster-scoped kinds (ClusterSecretStore, ClusterExternalSecret) are served:
/// not in a namespace-scoped install, whose Role cannot grant watching them (a 403 would keep
/// `/readyz` at 503), nor with `--no-cluster-resources`.
pub fn cluster_resources(namespace: Option<&str>, no_cluster_resources: bool) -> bool {
    namespace.is_none() && !no_cluster_resources
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "secretsync-operator".to_string());
    format!("{host}-{:08x}", rand::random::<u32>())
}

impl Args {
    /// Checks every flag and builds the settings; errors name the flag and what was expected.
    pub fn validate(self) -> anyhow::Result<Settings> {
        let metrics_addr = parse_addr("metrics-addr", &self.metrics_addr)?;
        let health_addr = parse_addr("health-addr", &self.health_addr)?;
        let refresh_addr = (self.refresh_addr.as_deref())
            .filter(|a| !a.is_empty())
            .map(|a| parse_addr("refresh-addr", a))
            .transpose()?;
        if self.concurrency == 0 {
            bail!("--concurrency: must be at least 1");
        }
        if !(0.0..=0.5).contains(&self.refresh_jitter) {
            bail!(
                "--refresh-jitter: expected a fraction between 0 and 0.5, got {}",
                self.refresh_jitter
            );
        }
        if !(self.kube_api_qps.is_finite() && self.kube_api_qps > 0.0) {
            bail!(
                "--kube-api-qps: must be greater than zero, got {}",
                self.kube_api_qps
            );
        }
        if self.kube_api_burst == 0 {
            bail!("--kube-api-burst: must be at least 1");
        }
        for (flag, value) in [
            ("namespace", &self.namespace),
            ("controller-class", &self.controller_class),
        ] {
            if value.as_deref() == Some("") {
                bail!("--{flag}: must not be empty (omit the flag instead)");
            }
        }
        let lease_duration = parse_duration(
            "leader-election-lease-duration",
            &self.leader_election_lease_duration,
        )?;
        let renew_deadline = parse_duration(
            "leader-election-renew-deadline",
            &self.leader_election_renew_deadline,
        )?;
        let retry_period = parse_duration(
            "leader-election-retry-period",
            &self.leader_election_retry_period,
        )?;
        if renew_deadline >= lease_duration {
            bail!(
                "--leader-election-renew-deadline ({renew_deadline:?}) must be shorter than --leader-election-lease-duration ({lease_duration:?})"
            );
        }
        if retry_period >= renew_deadline {
            bail!(
                "--leader-election-retry-period ({retry_period:?}) must be shorter than --leader-election-renew-deadline ({renew_deadline:?})"
            );
        }
        let shutdown_timeout = parse_duration("shutdown-timeout", &self.shutdown_timeout)?;
        let memory_release_interval = match self.memory_release_interval.trim() {
            "0" => Duration::ZERO,
            text => parse_duration("memory-release-interval", text)?,
        };
        let reconcile_timeout = parse_duration("reconcile-timeout", &self.reconcile_timeout)?;
        if self.render_cache_size == 0 {
            bail!("--render-cache-size: must be at least 1");
        }
        let request_timeout =
            parse_duration("provider-request-timeout", &self.provider_request_timeout)?;
        for (flag, value) in [
            (
                "provider-max-response-bytes",
                self.provider_max_response_bytes,
            ),
            ("provider-max-find-results", self.provider_max_find_results),
            ("provider-max-list-pages", self.provider_max_list_pages),
            ("provider-max-list-depth", self.provider_max_list_depth),
        ] {
            if value == 0 {
                bail!("--{flag}: must be at least 1");
            }
        }
        let providers = ProviderSettings {
            ambient_identity: if self.allow_operator_identity_in_secret_stores {
                AmbientIdentity::AnyStore
            } else {
                AmbientIdentity::ClusterStoresOnly
            },
            limits: ReadLimits {
                max_response_bytes: self.provider_max_response_bytes,
                max_find_results: self.provider_max_find_results,
                max_list_pages: self.provider_max_list_pages,
                max_list_depth: self.provider_max_list_depth,
            },
            request_timeout,
        };
        let leader = self.leader_elect.then(|| LeaderSettings {
            lease_name: self.leader_election_lease_name.clone().unwrap_or_else(|| {
                default_lease_name(self.controller_class.as_deref(), self.namespace.as_deref())
            }),
            namespace: self
                .leader_election_namespace
                .clone()
                .unwrap_or_else(|| self.operator_namespace.clone()),
            identity: self.identity.clone().unwrap_or_else(default_identity),
            lease_duration,
            renew_deadline,
            retry_period,
        });
        let cluster = cluster_resources(self.namespace.as_deref(), self.no_cluster_resources);
        let controllers = secretsync_kube::Config {
            namespace: self.namespace,
            controller_class: self.controller_class,
            concurrency: self.concurrency,
            operator_namespace: self.operator_namespace,
            drift_key_secret: self.drift_key_secret,
            refresh_jitter: self.refresh_jitter,
            align_refreshes: self.align_refreshes,
            flood_gate: self.enable_flood_gate,
            cluster_stores: cluster,
            cluster_external_secrets: cluster,
            reconcile_timeout,
            render_cache_capacity: self.render_cache_size,
            ..secretsync_kube::Config::default()
        };
        Ok(Settings {
            controllers,
            metrics_addr,
            health_addr,
            refresh_addr,
            leader,
            log_level: self.log_level,
            log_json: self.log_json,
            kube_api_qps: self.kube_api_qps,
            kube_api_burst: self.kube_api_burst,
            shutdown_timeout,
            memory_release_interval,
            providers,
        })
    }
}

/// Installs the tracing subscriber (text or JSON to stderr).
pub fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests;
