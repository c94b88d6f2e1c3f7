//! The checks that close a phase. Phase 1: each cloud store validates (logs in with workload
//! identity / IRSA and reads) and each bootstrap Secret is intact. Phase 2: the `vault` store
//! logs in as the operator's ServiceAccount through Kubernetes auth and may read KV (a probe
//! key answers "not found", not "permission denied"); the AppRole has a role id; the database
//! role issues credentials (revoked right away); the PKI role issues a certificate.
//! Nothing read is kept or printed.

use std::sync::Arc;

use kube::api::Api;
use secretsync_kube::credentials::{CredentialIndex, KubeCredentials};
use secretsync_model::external_secret::StoreKind;
use secretsync_model::secret_store::ClusterSecretStore;
use secretsync_model::{FetchRequest, ProviderError, SharedProvider, StoreContext, StoreId};
use serde_json::json;

use crate::config::{AWS_STORE, AZURE_STORE, VAULT_STORE};
use crate::context::Bootstrapper;
use crate::execute::StepError;
use crate::observe::data_of;
use crate::plan::{Phase, State};

/// KV key read by the phase 2 check; it need not exist.
pub const PROBE_KEY: &str = "secretsync-bootstrap/probe";

impl Bootstrapper {
    /// Runs the checks of `phase`.
    pub async fn check(&self, phase: Phase) -> Result<(), StepError> {
        match phase {
            Phase::Cloud => self.check_cloud().await,
            Phase::Vault => self.check_vault().await,
            // Each migrated key and cut-over is proven by its own step.
            Phase::Migration | Phase::Cutover => Ok(()),
        }
    }

    async fn check_cloud(&self) -> Result<(), StepError> {
        let stores = [
            (AZURE_STORE, self.config.stores.azure.is_some()),
            (AWS_STORE, self.config.stores.aws.is_some()),
        ];
        for (name, _) in stores.iter().filter(|(_, on)| *on) {
            let provider = self.store_provider(name).await?;
            let result = provider.validate().await;
            provider.close().await;
            result.map_err(|e| StepError(format!("ClusterSecretStore {name} cannot read: {e}")))?;
            tracing::info!(store = name, "store validated");
        }
        for s in &self.config.bootstrap_secrets {
            let state = self
                .observe_synced(&s.namespace, &s.name)
                .await
                .map_err(StepError::of)?;
            if state != State::Matches {
                return Err(StepError(format!(
                    "Secret {}/{} is not as the last sync wrote it",
                    s.namespace, s.name
                )));
            }
        }
        Ok(())
    }

    async fn check_vault(&self) -> Result<(), StepError> {
        let provider = self.store_provider(VAULT_STORE).await?;
        let login = provider.validate().await;
        let read = provider.fetch(&FetchRequest::latest(PROBE_KEY)).await;
        provider.close().await;
        login.map_err(|e| {
            StepError(format!(
                "ClusterSecretStore {VAULT_STORE}: the operator's ServiceAccount cannot log in: {e}"
            ))
        })?;
        match read {
            Ok(_) | Err(ProviderError::NotFound(_)) => {}
            Err(e) => {
                return Err(StepError(format!(
                    "ClusterSecretStore {VAULT_STORE}: the operator's ServiceAccount cannot read: {e}"
                )));
            }
        }
        tracing::info!("operator ServiceAccount logged in to Vault and may read");
        let Some(v) = &self.config.vault else {
            return Ok(());
        };
        let vault = self.vault_admin()?;
        if let Some(ci) = &v.app_role {
            let path = format!("auth/approle/role/{}/role-id", ci.role);
            let ok = vault
                .read(&path)
                .await
                .map_err(StepError::of)?
                .is_some_and(|a| data_of(&a)["role_id"].is_string());
            if !ok {
                return Err(StepError(format!("{path}: no role id")));
            }
        }
        if let Some(db) = &v.database {
            let path = format!("{}/creds/{}", db.mount, db.role);
            let answer = vault
                .read(&path)
                .await
                .map_err(StepError::of)?
                .ok_or_else(|| StepError(format!("{path}: no answer")))?;
            let issued = data_of(&answer)["username"].is_string();
            if let Some(lease) = answer["lease_id"].as_str().filter(|l| !l.is_empty()) {
                vault
                    .write_json("sys/leases/revoke", &json!({"lease_id": lease}))
                    .await
                    .map_err(StepError::of)?;
            }
            if !issued {
                return Err(StepError(format!("{path}: no credentials issued")));
            }
            tracing::info!(role = %db.role, "database role issued credentials (revoked)");
        }
        if let Some(pki) = &v.pki {
            let path = format!("{}/issue/{}", pki.mount, pki.role);
            let domain = pki.allowed_domains.first().cloned().unwrap_or_default();
            let answer = vault
                .write_json(
                    &path,
                    &json!({"common_name": format!("bootstrap-check.{domain}"), "ttl": "60s"}),
                )
                .await
                .map_err(StepError::of)?
                .unwrap_or_default();
            let issued = data_of(&answer)["certificate"]
                .as_str()
                .is_some_and(|c| c.starts_with("-----BEGIN CERTIFICATE-----"));
            if !issued {
                return Err(StepError(format!("{path}: no certificate issued")));
            }
            tracing::info!(role = %pki.role, "PKI role issued a certificate");
        }
        Ok(())
    }

    /// A provider for ClusterSecretStore `name`, built by the run's factory with the operator's
    /// credential rules (ServiceAccount tokens through TokenRequest).
    pub(crate) async fn store_provider(&self, name: &str) -> Result<SharedProvider, StepError> {
        let api: Api<ClusterSecretStore> = Api::all(self.client.clone());
        let store = api
            .get(name)
            .await
            .map_err(|e| StepError(format!("reading ClusterSecretStore {name}: {e}")))?;
        let context = StoreContext {
            store: StoreId {
                kind: StoreKind::ClusterSecretStore,
                namespace: None,
                name: name.to_string(),
            },
            reader_namespace: None,
        };
        let credentials = Arc::new(KubeCredentials::new(
            self.client.clone(),
            context.clone(),
            Arc::new(CredentialIndex::default()),
        ));
        self.factory
            .build(&context, &store.spec, credentials)
            .await
            .map_err(|e| StepError(format!("ClusterSecretStore {name}: {e}")))
    }
}
