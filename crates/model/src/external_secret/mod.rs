//! The `ExternalSecret` custom resource (`external-secrets.io`, served as v1 and v1beta1).

mod data;
mod status;
mod target;

pub use data::*;
pub use status::*;
pub use target::*;

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of an ExternalSecret (ESO `ExternalSecretSpec`).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ExternalSecret",
    namespaced,
    status = "ExternalSecretStatus",
    shortname = "es",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    printcolumn(
        name = "StoreType",
        type_ = "string",
        json_path = ".spec.secretStoreRef.kind"
    ),
    printcolumn(
        name = "Store",
        type_ = "string",
        json_path = ".spec.secretStoreRef.name"
    ),
    printcolumn(
        name = "Refresh Interval",
        type_ = "string",
        json_path = ".spec.refreshInterval"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Last Sync", type_ = "date", json_path = ".status.refreshTime"),
    selectable = ".spec.secretStoreRef.name",
    selectable = ".spec.secretStoreRef.kind",
    selectable = ".spec.target.name",
    selectable = ".spec.refreshInterval",
    derive = "PartialEq",
    derive = "Default",
    crates(
        kube_core = "::kube_core",
        k8s_openapi = "::k8s_openapi",
        schemars = "::schemars",
        serde = "::serde",
        serde_json = "::serde_json"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// The store to read from when an entry names no store of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_store_ref: Option<SecretStoreRef>,
    /// The Kubernetes Secret to produce.
    #[serde(default)]
    pub target: ExternalSecretTarget,
    /// When to refresh: `CreatedOnce`, `Periodic` (default) or `OnChange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_policy: Option<RefreshPolicy>,
    /// Go duration between refreshes (default `1h`; `0` fetches once).
    #[serde(
        default = "default_refresh_interval",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_interval: Option<String>,
    /// Windows that allow or deny periodic refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_windows: Option<SyncWindows>,
    /// One Secret key per remote value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ExternalSecretData>,
    /// Many Secret keys per remote secret (extract, find, generators), merged in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_from: Vec<ExternalSecretDataFromRemoteRef>,
}

/// Reference to a SecretStore or ClusterSecretStore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRef {
    /// Name of the store.
    #[serde(default)]
    pub name: String,
    /// `SecretStore` (default) or `ClusterSecretStore`.
    #[serde(default)]
    pub kind: StoreKind,
}

/// The two kinds of secret store.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum StoreKind {
    /// A namespaced store, usable from its own namespace only.
    #[default]
    SecretStore,
    /// A cluster-wide store, optionally restricted by `conditions`.
    ClusterSecretStore,
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreKind::SecretStore => "SecretStore",
            StoreKind::ClusterSecretStore => "ClusterSecretStore",
        })
    }
}

/// How an ExternalSecret is refreshed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RefreshPolicy {
    /// Sync once; never refresh afterwards (the target is still recreated if missing).
    CreatedOnce,
    /// Refresh every `refreshInterval`.
    #[default]
    Periodic,
    /// Refresh only when the ExternalSecret's spec, labels or annotations change.
    OnChange,
}

/// Windows gating periodic refreshes (ESO `syncWindows`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindows {
    /// Whether the windows allow or deny refreshes.
    pub kind: SyncWindowKind,
    /// The windows; admission requires at least one.
    // No schema `minItems: 1` (ESO has one): it would contradict the schema default `[]`.
    #[serde(default)]
    pub windows: Vec<SyncWindow>,
}

/// Whether sync windows allow or deny.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncWindowKind {
    /// Refreshes happen only inside a window.
    #[default]
    Allow,
    /// Refreshes never happen inside a window.
    Deny,
}

/// One sync window: a cron schedule (UTC) and how long it stays open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// 5-field cron expression or `@every`/`@daily` shorthand, in UTC (ESO's CRD pattern).
    #[schemars(
        length(min = 1),
        pattern(
            r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*|[^\s]+( [^\s]+){4})$"
        )
    )]
    pub schedule: String,
    /// Go duration the window stays open.
    pub duration: String,
}

/// Labels and annotations ESO (and secretsync) put on managed Secrets.
pub mod labels {
    /// Set to `true` on every Secret an ExternalSecret manages.
    pub const MANAGED: &str = "reconcile.external-secrets.io/managed";
    /// ESO's unkeyed data hash annotation (kept for compatibility).
    pub const DATA_HASH: &str = "reconcile.external-secrets.io/data-hash";
    /// Hash of `namespace/name` of the owning ExternalSecret (creationPolicy Owner).
    pub const CREATED_BY: &str = "reconcile.external-secrets.io/created-by";
    /// Any change of this annotation on an ExternalSecret forces a resync.
    pub const FORCE_SYNC: &str = "external-secrets.io/force-sync";
    /// Finalizer that runs `deletionPolicy: Delete` cleanup.
    pub const FINALIZER: &str = "externalsecrets.external-secrets.io/externalsecret-cleanup";
}

/// ESO's CRD default for `spec.refreshInterval`.
pub const DEFAULT_REFRESH_INTERVAL: &str = "1h";

fn default_refresh_interval() -> Option<String> {
    Some(DEFAULT_REFRESH_INTERVAL.to_string())
}

impl ExternalSecretSpec {
    /// The effective refresh policy (`Periodic` when unset).
    pub fn effective_refresh_policy(&self) -> RefreshPolicy {
        self.refresh_policy.unwrap_or_default()
    }

    /// Every store this spec reads from: `secretStoreRef`, then each entry's
    /// `sourceRef.storeRef` (`data[]`, then `dataFrom[]`), without repeats.
    pub fn store_refs(&self) -> Vec<&SecretStoreRef> {
        let entries = self
            .data
            .iter()
            .filter_map(|d| d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()))
            .chain(
                self.data_from
                    .iter()
                    .filter_map(|d| d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref())),
            );
        let mut out: Vec<&SecretStoreRef> = Vec::new();
        for r in self.secret_store_ref.iter().chain(entries) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

impl ExternalSecret {
    /// The name of the target Secret: `spec.target.name`, else the ExternalSecret's own name.
    pub fn target_name(&self) -> String {
        match &self.spec.target.name {
            Some(n) if !n.is_empty() => n.clone(),
            _ => self.metadata.name.clone().unwrap_or_default(),
        }
    }
}
