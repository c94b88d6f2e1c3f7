//! Performing one step. Every step observes its item again right before acting, so a step
//! re-run after an interruption does nothing twice (a mount is enabled once, a root CA
//! generated once; configuration writes and server-side applies are idempotent).

use std::sync::Arc;

use kube::api::Api;
use secrecy::ExposeSecret;
use secretsync_engine::{DesiredSecret, Engine, EngineConfig, SyncResult};
use secretsync_kube::credentials::CredentialIndex;
use secretsync_kube::drift::DriftKey;
use secretsync_kube::environment::KubeEnvironment;
use secretsync_kube::writer::{WriteOutcome, Writer};
use secretsync_model::external_secret::ExternalSecret;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::context::Bootstrapper;
use crate::observe::{data_of, mount_state};
use crate::plan::{KubeObject, SecretField, State, Step, Want};
use crate::vault_admin::VaultAdmin;
use crate::{cluster, record};

/// Why a step failed (never a value: messages name objects, paths and fields).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StepError(pub String);

impl StepError {
    pub(crate) fn of(e: impl std::fmt::Display) -> Self {
        StepError(e.to_string())
    }
}

impl Bootstrapper {
    /// The Vault setup client, or the error saying a token is needed.
    pub(crate) fn vault_admin(&self) -> Result<&VaultAdmin, StepError> {
        self.vault.as_ref().ok_or_else(|| {
            StepError("a Vault setup token is needed (VAULT_TOKEN or --vault-token-file)".into())
        })
    }

    /// Performs one step; `force` lets migration overwrite a different value in Vault.
    pub async fn execute(&self, step: &Step, force: bool) -> Result<(), StepError> {
        match &step.item.want {
            Want::Object(obj) => self.apply_object(obj).await,
            Want::Mount {
                auth,
                path,
                kind,
                options,
            } => self.enable_mount(*auth, path, kind, options).await,
            Want::Config {
                path, body, secret, ..
            } => self.write_config(path, body, secret.as_ref()).await,
            Want::PkiRoot {
                mount,
                common_name,
                ttl,
            } => self.generate_root(mount, common_name, *ttl).await,
            Want::Synced { namespace, name } => self.sync_once(namespace, name).await.map(drop),
            Want::Migrated(m) => self.migrate(m, force).await,
            Want::CutOver { namespace, name } => self.cut_over(namespace, name).await,
            Want::Verified { phase, fingerprint } => {
                self.check(*phase).await?;
                record::write(
                    &self.client,
                    &self.config.operator.namespace,
                    *phase,
                    fingerprint,
                )
                .await
                .map_err(|e| StepError(format!("recording the checks: {e}")))
            }
        }
    }

    async fn apply_object(&self, obj: &KubeObject) -> Result<(), StepError> {
        cluster::apply(&self.client, obj)
            .await
            .map_err(|e| StepError(format!("applying {} {}: {e}", obj.kind, obj.name)))?;
        if obj.kind == "CustomResourceDefinition" {
            cluster::wait_established(&self.client, obj)
                .await
                .map_err(StepError)?;
        }
        Ok(())
    }

    async fn enable_mount(
        &self,
        auth: bool,
        path: &str,
        kind: &str,
        options: &Value,
    ) -> Result<(), StepError> {
        let vault = self.vault_admin()?;
        let at = if auth { "sys/auth" } else { "sys/mounts" };
        let listing = vault
            .read(at)
            .await
            .map_err(StepError::of)?
            .unwrap_or_default();
        match mount_state(&listing, path, kind, options) {
            State::Matches => Ok(()),
            State::Absent => vault
                .write_json(
                    &format!("{at}/{path}"),
                    &json!({"type": kind, "options": options}),
                )
                .await
                .map(drop)
                .map_err(StepError::of),
            other => Err(StepError(format!(
                "{at}/{path} exists but {other:?}: the bootstrapper does not replace a mount \
                 (its data would be lost); move or remove it by hand"
            ))),
        }
    }

    async fn write_config(
        &self,
        path: &str,
        body: &Value,
        secret: Option<&SecretField>,
    ) -> Result<(), StepError> {
        let vault = self.vault_admin()?;
        let Some(field) = secret else {
            return vault
                .write_json(path, body)
                .await
                .map(drop)
                .map_err(StepError::of);
        };
        let value = (self.secrets)(&field.env).ok_or_else(|| {
            StepError(format!(
                "{path}: environment variable {} (the {} field) is not set",
                field.env, field.field
            ))
        })?;
        // Build the body with the secret in a zeroized buffer only.
        let mut object = body.as_object().cloned().unwrap_or_default();
        object.insert(field.field.clone(), Value::String(String::new()));
        let template = Value::Object(object).to_string();
        let marker = format!("\"{}\":\"\"", field.field);
        let escaped =
            Zeroizing::new(serde_json::to_string(value.expose_secret()).map_err(StepError::of)?);
        let mut bytes = Zeroizing::new(Vec::with_capacity(template.len() + escaped.len()));
        let (before, after) = template
            .split_once(&marker)
            .ok_or_else(|| StepError(format!("{path}: building the request")))?;
        bytes.extend_from_slice(before.as_bytes());
        bytes.extend_from_slice(format!("\"{}\":", field.field).as_bytes());
        bytes.extend_from_slice(escaped.as_bytes());
        bytes.extend_from_slice(after.as_bytes());
        vault.write(path, bytes).await.map(drop).map_err(|e| {
            // Vault's own messages do not echo the password; make sure of it.
            StepError(e.to_string().replace(value.expose_secret(), "[REDACTED]"))
        })
    }

    async fn generate_root(
        &self,
        mount: &str,
        common_name: &str,
        ttl: u64,
    ) -> Result<(), StepError> {
        let vault = self.vault_admin()?;
        let existing = vault.read(&format!("{mount}/cert/ca")).await;
        if let Ok(Some(v)) = &existing
            && data_of(v)["certificate"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
        {
            return Ok(());
        }
        vault
            .write_json(
                &format!("{mount}/root/generate/internal"),
                &json!({"common_name": common_name, "ttl": format!("{ttl}s")}),
            )
            .await
            .map(drop)
            .map_err(StepError::of)
    }

    /// Syncs one ExternalSecret once with the operator's engine and writer: the engine renders
    /// the Secret, the writer applies it (ESO's creation policy, owner reference, the drift
    /// stamp with the operator's drift key), so the operator later finds it intact.
    pub(crate) async fn sync_once(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<WriteOutcome, StepError> {
        let api: Api<ExternalSecret> = Api::namespaced(self.client.clone(), namespace);
        let es = api
            .get(name)
            .await
            .map_err(|e| StepError(format!("reading ExternalSecret {namespace}/{name}: {e}")))?;
        let key = DriftKey::load_or_create(
            self.client.clone(),
            &self.config.operator.namespace,
            &self.drift_key_secret(),
        )
        .await
        .map_err(StepError::of)?;
        let writer = Writer::new(
            self.client.clone(),
            Arc::new(key),
            secretsync_kube::Config::default().eso_data_hash,
            Arc::new(secretsync_kube::cache::ManagedSecrets::default()),
        );
        let desired = self.render(&es).await?;
        writer.write(&es, &desired).await.map_err(|e| {
            StepError(format!(
                "ExternalSecret {namespace}/{name}: writing the Secret: {e}"
            ))
        })
    }

    /// Renders `es` with the operator's engine over the cluster (no write).
    pub(crate) async fn render(&self, es: &ExternalSecret) -> Result<DesiredSecret, StepError> {
        let what = format!(
            "ExternalSecret {}/{}",
            es.metadata.namespace.as_deref().unwrap_or_default(),
            es.metadata.name.as_deref().unwrap_or_default()
        );
        let engine = Engine::new(self.factory.clone(), EngineConfig::default());
        let env = KubeEnvironment::new(
            self.client.clone(),
            None,
            Arc::new(CredentialIndex::default()),
        );
        let outcome = engine.sync(es, &env).await;
        engine.close().await;
        match outcome.result {
            Ok(SyncResult::Write(desired)) => Ok(desired),
            Ok(_) => Err(StepError(format!(
                "{what}: the stores returned no data, so no Secret was written"
            ))),
            Err(e) => Err(StepError(format!("{what}: {e}"))),
        }
    }
}
