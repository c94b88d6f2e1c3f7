//! Who may use the operator's own identity: its ServiceAccount token, its federated token
//! file, the node's managed identity, the ambient AWS chain, a token from its environment.
//!
//! By default only ClusterSecretStores (created by cluster administrators) may. A namespaced
//! SecretStore is written by a tenant; if it could select the operator's identity, the tenant
//! would read whatever the operator may read, or make the operator send its token to an
//! endpoint the tenant chose. [`AmbientIdentity::AnyStore`] restores ESO's behaviour.

use secretsync_model::ProviderError;
use secretsync_model::StoreId;
use secretsync_model::external_secret::StoreKind;

/// The operator flag that restores ESO's behaviour.
pub const ALLOW_FLAG: &str = "--allow-operator-identity-in-secret-stores";

/// Which stores may use the operator's own identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AmbientIdentity {
    /// ClusterSecretStores only (the default).
    #[default]
    ClusterStoresOnly,
    /// Every store, as ESO (and the one-shot CLI, where the identity is the user's own).
    AnyStore,
}

impl AmbientIdentity {
    /// Whether `store` is held to the tenant rules (a SecretStore, unless allowed).
    pub fn restricts(self, store: &StoreId) -> bool {
        self == AmbientIdentity::ClusterStoresOnly && store.kind == StoreKind::SecretStore
    }

    /// Refuses a SecretStore that would use the operator's identity. `field` is the store
    /// field that selects it, `identity` says which identity, `remedy` what to set instead.
    pub fn check(
        self,
        store: &StoreId,
        field: &str,
        identity: &str,
        remedy: &str,
    ) -> Result<(), ProviderError> {
        if !self.restricts(store) {
            return Ok(());
        }
        Err(ProviderError::InvalidStoreConfig(format!(
            "{store}: {field}: a SecretStore may not use the operator's own identity \
             ({identity}); set {remedy}, or ask an administrator for a ClusterSecretStore \
             (the operator flag {ALLOW_FLAG} allows it for every store, as ESO does)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(kind: StoreKind) -> StoreId {
        StoreId {
            kind,
            namespace: (kind == StoreKind::SecretStore).then(|| "team".to_string()),
            name: "s".into(),
        }
    }

    #[test]
    fn only_secret_stores_are_refused_by_default() {
        let cases = [
            (
                AmbientIdentity::ClusterStoresOnly,
                StoreKind::SecretStore,
                false,
            ),
            (
                AmbientIdentity::ClusterStoresOnly,
                StoreKind::ClusterSecretStore,
                true,
            ),
            (AmbientIdentity::AnyStore, StoreKind::SecretStore, true),
            (
                AmbientIdentity::AnyStore,
                StoreKind::ClusterSecretStore,
                true,
            ),
        ];
        for (policy, kind, allowed) in cases {
            let result = policy.check(&store(kind), "spec.provider.x", "its token", "y");
            assert_eq!(result.is_ok(), allowed, "{policy:?} {kind:?}");
        }
        let e = AmbientIdentity::default()
            .check(
                &store(StoreKind::SecretStore),
                "spec.provider.vault.auth.kubernetes",
                "its ServiceAccount token",
                "serviceAccountRef or secretRef",
            )
            .expect_err("refused");
        let text = e.to_string();
        assert!(text.contains("SecretStore team/s"), "{text}");
        assert!(
            text.contains("spec.provider.vault.auth.kubernetes"),
            "{text}"
        );
        assert!(text.contains("serviceAccountRef or secretRef"), "{text}");
        assert!(matches!(e, ProviderError::InvalidStoreConfig(_)));
    }
}
