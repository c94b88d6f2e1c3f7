//! The three providers' backends (testkit launchers): OpenBao with a file audit device, moto
//! with its recorder, the Azure Key Vault + Entra ID double; their ServiceAccount-based logins
//! set up as in ADR-002; the K remote keys; and the calls each backend saw.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Seek as _};
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use secretsync_testkit::azure::{
    AzureDouble, AzureDoubleOptions, SecretOptions, TrustedIssuerKeys,
};
use secretsync_testkit::cluster::ClusterAccess;
use secretsync_testkit::peers::{Bao, KubernetesAuth, Moto};
use serde_json::json;

use crate::workload::{Identity, Provider};

/// The AWS region of the AWS store.
pub const AWS_REGION: &str = "us-east-1";
/// The role the AWS store assumes (moto accepts any).
pub const AWS_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/secretsync-scale";
/// Application (client) id of the workload identity in the Azure double.
pub const AZURE_CLIENT_ID: &str = "5e1f0c2a-0000-4000-8000-00000000c0de";
/// OpenBao role of the Vault store.
pub const VAULT_ROLE: &str = "secretsync-scale";
/// Seeding requests in flight.
const SEED_CONCURRENCY: usize = 16;

/// The running backends.
pub struct Peers {
    /// OpenBao.
    pub bao: Bao,
    /// moto.
    pub moto: Moto,
    /// The Azure double.
    pub azure: AzureDouble,
    audit: Mutex<AuditTail>,
    secrets_manager: aws_sdk_secretsmanager::Client,
}

/// Calls seen by the backends, cumulative, by backend and call.
pub type ProviderCalls = BTreeMap<String, BTreeMap<String, u64>>;

/// OpenBao's audit log read so far.
struct AuditTail {
    path: PathBuf,
    offset: u64,
    counts: BTreeMap<String, u64>,
}

impl Peers {
    /// Starts the backends and lets `identity` log in to each of them, through `cluster`.
    pub async fn start(cluster: &ClusterAccess, identity: &Identity) -> anyhow::Result<Peers> {
        let mut bao = Bao::start()
            .await
            .context("starting OpenBao (run scripts/peers install)")?;
        let moto = Moto::start()
            .await
            .context("starting moto (run scripts/peers install)")?;
        let azure = AzureDouble::start(AzureDoubleOptions::default())?;
        bao.enable_kubernetes_auth(&KubernetesAuth {
            mount: "kubernetes".into(),
            role: VAULT_ROLE.into(),
            service_account: identity.name.clone(),
            service_account_namespace: identity.namespace.clone(),
            api_server_url: cluster.url.clone(),
            api_server_ca_pem: cluster.ca_pem.clone(),
        })
        .await?;
        azure.trust_issuer(
            &cluster.issuer,
            TrustedIssuerKeys::Jwks(cluster.jwks.clone()),
        )?;
        azure.add_federated_credential(
            azure.tenant_id(),
            AZURE_CLIENT_ID,
            &cluster.issuer,
            &format!(
                "system:serviceaccount:{}:{}",
                identity.namespace, identity.name
            ),
            "api://AzureADTokenExchange",
        );
        let secrets_manager =
            aws_sdk_secretsmanager::Client::new(&moto.admin_sdk_config(AWS_REGION));
        moto.start_recording().await?;
        let audit = bao.enable_audit_file().await?;
        Ok(Peers {
            bao,
            moto,
            azure,
            audit: Mutex::new(AuditTail {
                path: audit,
                offset: 0,
                counts: BTreeMap::new(),
            }),
            secrets_manager,
        })
    }

    /// Writes remote key `name` with `value` at `provider`.
    async fn seed_one(&self, provider: Provider, name: &str, value: &str) -> anyhow::Result<()> {
        match provider {
            Provider::Vault => {
                self.bao
                    .sys_request(
                        reqwest::Method::POST,
                        &format!("secret/data/{name}"),
                        Some(json!({"data": {"value": value}})),
                    )
                    .await?;
            }
            Provider::Aws => {
                self.secrets_manager
                    .create_secret()
                    .name(name)
                    .secret_string(value)
                    .send()
                    .await
                    .with_context(|| format!("creating {name} in moto"))?;
            }
            Provider::Azure => {
                self.azure
                    .set_secret(name, value, SecretOptions::default())?;
            }
        }
        Ok(())
    }

    /// Writes every `(provider, name, value)`.
    pub async fn seed(&self, keys: &[(Provider, String, String)]) -> anyhow::Result<()> {
        futures::stream::iter(keys)
            .map(|(p, n, v)| self.seed_one(*p, n, v))
            .buffer_unordered(SEED_CONCURRENCY)
            .try_collect::<()>()
            .await
    }

    /// Calls each backend saw so far: OpenBao requests by operation and path (key names
    /// replaced by `*`), moto's recorded AWS actions, the Azure double's vault operations and
    /// token grants.
    pub async fn calls(&self) -> anyhow::Result<ProviderCalls> {
        let vault = self.audit_counts()?;
        let mut aws = BTreeMap::new();
        for call in self.moto.recorded_calls().await? {
            *aws.entry(call.action).or_insert(0) += 1;
        }
        let mut azure: BTreeMap<String, u64> = self.azure.vault_requests().by_operation;
        for (grant, n) in self.azure.token_requests().by_grant {
            azure.insert(format!("token {grant}"), n);
        }
        Ok(BTreeMap::from([
            ("vault".to_string(), vault),
            ("aws".to_string(), aws),
            ("azure".to_string(), azure),
        ]))
    }

    /// Reads the audit log from where the last call stopped.
    fn audit_counts(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let mut tail = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = std::fs::File::open(&tail.path)?;
        file.seek(std::io::SeekFrom::Start(tail.offset))?;
        let mut reader = std::io::BufReader::new(file);
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader.read_line(&mut line)?;
            if read == 0 || !line.ends_with('\n') {
                break;
            }
            tail.offset += read as u64;
            if let Some(key) = audit_request_kind(&line) {
                *tail.counts.entry(key).or_insert(0) += 1;
            }
        }
        Ok(tail.counts.clone())
    }
}

/// `<operation> <path>` of an audit log request entry, with the last path segment of KV reads
/// replaced by `*` (`read secret/data/*`, `update auth/kubernetes/login`); `None` for responses.
pub fn audit_request_kind(line: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(line).ok()?;
    if entry["type"] != "request" {
        return None;
    }
    let operation = entry["request"]["operation"].as_str()?;
    let path = entry["request"]["path"].as_str()?;
    let path = match path.split_once("/data/") {
        Some((mount, _)) => format!("{mount}/data/*"),
        None => path.to_string(),
    };
    Some(format!("{operation} {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_entries_are_counted_by_operation_and_path() {
        let table = [
            (
                r#"{"type":"request","request":{"operation":"read","path":"secret/data/scale-00001"}}"#,
                Some("read secret/data/*"),
            ),
            (
                r#"{"type":"request","request":{"operation":"update","path":"auth/kubernetes/login"}}"#,
                Some("update auth/kubernetes/login"),
            ),
            (
                r#"{"type":"response","request":{"operation":"read","path":"secret/data/x"}}"#,
                None,
            ),
            ("not json", None),
        ];
        for (line, expected) in table {
            assert_eq!(audit_request_kind(line).as_deref(), expected, "{line}");
        }
    }
}
