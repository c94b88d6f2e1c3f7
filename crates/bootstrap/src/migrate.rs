//! Migration: copies a cloud key into Vault KV v2 (`secret/<to>`, property `value`) through the
//! Vault **write path** of `secretsync-provider-vault` (the one PushSecret uses), with the setup
//! token; provenance (source store, key, version, time) goes into the secret's
//! `custom_metadata` next to ESO's `managed-by` marker. Parity is decided by a keyed hash
//! (HMAC-SHA256 with a key random per run); a different value already in Vault stops that key
//! unless `--force`.
//! (Cut-over and rollback: [`crate::cutover`].)

use std::sync::Arc;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use secretsync_engine::values::lookup_property;
use secretsync_kube::credentials::{CredentialIndex, KubeCredentials};
use secretsync_model::external_secret::StoreKind;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::writer::{MANAGED_BY_KEY, MANAGED_BY_VALUE, PushRequest};
use secretsync_model::{
    FetchRequest, ProviderError, RemoteSecret, SecretValue, SharedProvider, StoreContext, StoreId,
};
use serde_json::json;

use crate::config::{Migration, VALUE_PROPERTY};
use crate::context::Bootstrapper;
use crate::desired::KV_MOUNT;
use crate::execute::StepError;
use crate::observe::data_of;
use crate::plan::State;

/// `custom_metadata` key naming the source store and key (`azure-keyvault/crossplane-...`,
/// `aws-secretsmanager/db#username` for a property).
pub const SOURCE_KEY: &str = "secretsync.io/migrated-from";
/// `custom_metadata` key with the source version.
pub const SOURCE_VERSION_KEY: &str = "secretsync.io/migrated-version";
/// `custom_metadata` key with the migration time.
pub const MIGRATED_AT_KEY: &str = "secretsync.io/migrated-at";

/// A short keyed hash of a value: safe to print, equal for equal values within one run.
pub fn keyed_hash(key: &[u8; 32], value: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| {
        // HMAC takes keys of any length; unreachable.
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(&[0]).expect("HMAC key")
    });
    mac.update(value);
    mac.finalize().into_bytes()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(serde::Deserialize)]
struct KvValue {
    value: Option<SecretString>,
}

impl Bootstrapper {
    async fn setup_provider(&self) -> Result<SharedProvider, StepError> {
        let (Some(factory), Some(v)) = (&self.setup_factory, &self.config.vault) else {
            return Err(StepError(
                "a Vault setup token is needed (VAULT_TOKEN or --vault-token-file)".into(),
            ));
        };
        let spec: SecretStoreSpec = serde_json::from_value(json!({"provider": {"vault": {
            "server": v.address, "path": KV_MOUNT, "version": "v2",
        }}}))
        .map_err(StepError::of)?;
        let context = StoreContext {
            store: StoreId {
                kind: StoreKind::ClusterSecretStore,
                namespace: None,
                name: "secretsync-bootstrap-setup".into(),
            },
            reader_namespace: None,
        };
        let credentials = Arc::new(KubeCredentials::new(
            self.client.clone(),
            context.clone(),
            Arc::new(CredentialIndex::default()),
        ));
        factory
            .build(&context, &spec, credentials)
            .await
            .map_err(|e| StepError(format!("Vault at vault.address: {e}")))
    }

    /// The cloud value of `m`: the key's value, or the property of it `m` names (looked up as
    /// the engine looks up `remoteRef.property`, so a cut-over ExternalSecret reads the same).
    async fn cloud_value(&self, m: &Migration) -> Result<RemoteSecret, StepError> {
        let (store, key) = (&m.store, &m.key);
        let provider = self.store_provider(store).await?;
        let read = provider.fetch(&FetchRequest::latest(key)).await;
        provider.close().await;
        let remote = read.map_err(|e| StepError(format!("reading {key} from {store}: {e}")))?;
        let Some(property) = &m.property else {
            return Ok(remote);
        };
        let value = lookup_property(remote.value.expose(), property).map_err(|e| {
            StepError(format!(
                "reading {key} from {store}: property {property:?}: {e}"
            ))
        })?;
        Ok(RemoteSecret {
            value: SecretValue::from(value),
            version: remote.version,
        })
    }

    /// The `value` property of `secret/<path>`, None when the secret or property is absent.
    async fn vault_value(
        &self,
        provider: &SharedProvider,
        path: &str,
    ) -> Result<Option<SecretString>, StepError> {
        match provider.fetch(&FetchRequest::latest(path)).await {
            Ok(remote) => {
                let parsed: KvValue = serde_json::from_slice(remote.value.expose())
                    .map_err(|_| StepError(format!("{KV_MOUNT}/{path}: not a KV object")))?;
                Ok(parsed.value)
            }
            Err(ProviderError::NotFound(_)) => Ok(None),
            Err(e) => Err(StepError(format!("reading {KV_MOUNT}/{path}: {e}"))),
        }
    }

    async fn provenance(&self, path: &str) -> Result<Option<String>, StepError> {
        let vault = self.vault_admin()?;
        let meta = vault
            .read(&format!("{KV_MOUNT}/metadata/{path}"))
            .await
            .map_err(StepError::of)?;
        Ok(meta.and_then(|m| {
            data_of(&m)["custom_metadata"][SOURCE_KEY]
                .as_str()
                .map(str::to_string)
        }))
    }

    /// Compares the cloud value and Vault's by keyed hash, and the provenance.
    async fn compare(&self, m: &Migration) -> Result<Compared, StepError> {
        let path = &m.to;
        let cloud = self.cloud_value(m).await?;
        let provider = self.setup_provider().await?;
        let vault = self.vault_value(&provider, path).await;
        provider.close().await;
        let run_key: [u8; 32] = rand::random();
        let cloud_hash = keyed_hash(&run_key, cloud.value.expose());
        let vault_hash = vault?.map(|v| keyed_hash(&run_key, v.expose_secret().as_bytes()));
        let provenance = self.provenance(path).await?;
        Ok(Compared {
            cloud,
            cloud_hash,
            vault_hash,
            provenance_ok: provenance == Some(m.source()),
        })
    }

    /// The State of a migrated key (Unknown while its stores or the token are missing).
    pub(crate) async fn observe_migrated(&self, m: &Migration) -> State {
        match self.compare(m).await {
            Err(e) => State::Unknown(format!("not comparable yet: {e}")),
            Ok(c) => match &c.vault_hash {
                None => State::Absent,
                Some(h) if *h != c.cloud_hash => State::Differs(format!(
                    "value (Vault {h}, cloud {}; keyed hashes)",
                    c.cloud_hash
                )),
                Some(_) if !c.provenance_ok => State::Differs("provenance".into()),
                Some(_) => State::Matches,
            },
        }
    }

    /// Copies one key (observing again first).
    pub(crate) async fn migrate(&self, m: &Migration, force: bool) -> Result<(), StepError> {
        let path = m.to.as_str();
        let source = m.source();
        let c = self.compare(m).await?;
        if let Some(h) = &c.vault_hash
            && *h != c.cloud_hash
            && !force
        {
            return Err(StepError(format!(
                "{KV_MOUNT}/{path} already holds a different value (keyed hash {h}, {source}: \
                 {}); not overwritten: check which is right, then run apply --force",
                c.cloud_hash
            )));
        }
        let provider = self.setup_provider().await?;
        let result = self.push(&provider, path, &c.cloud.value).await;
        provider.close().await;
        result?;
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        self.vault_admin()?
            .write_json(
                &format!("{KV_MOUNT}/metadata/{path}"),
                &json!({"custom_metadata": {
                    MANAGED_BY_KEY: MANAGED_BY_VALUE,
                    SOURCE_KEY: source,
                    SOURCE_VERSION_KEY: c.cloud.version.clone().unwrap_or_default(),
                    MIGRATED_AT_KEY: now,
                }}),
            )
            .await
            .map_err(StepError::of)?;
        tracing::info!(from = %m.source(), path, hash = %c.cloud_hash, "migrated");
        Ok(())
    }

    async fn push(
        &self,
        provider: &SharedProvider,
        path: &str,
        value: &SecretValue,
    ) -> Result<(), StepError> {
        let writer = provider
            .writer()
            .ok_or_else(|| StepError("the Vault provider has no write path".into()))?;
        let remote = PushSecretRemoteRef {
            remote_key: path.to_string(),
            property: Some(VALUE_PROPERTY.to_string()),
        };
        writer
            .push(&PushRequest {
                remote: &remote,
                value,
                metadata: None,
            })
            .await
            .map(drop)
            .map_err(|e| StepError(format!("writing {KV_MOUNT}/{path}: {e}")))
    }
}

/// The result of comparing one key.
struct Compared {
    cloud: RemoteSecret,
    cloud_hash: String,
    vault_hash: Option<String>,
    provenance_ok: bool,
}
