//! `secretsync-bootstrap` as a library: ADR-002's two phases as one idempotent, previewable
//! command. `bootstrap.yaml` ([`config`]) becomes the items that should exist ([`desired`]);
//! [`Bootstrapper::observe`] reads what exists; [`plan::plan`] (pure) lists the steps between;
//! [`Bootstrapper::apply`] performs them, each observing again before it acts, so a run killed
//! anywhere is finished by the next.
//!
//! Phase 1 (cloud): CRDs, the operator's annotated ServiceAccount, optionally the operator
//! itself from `deploy/` ([`operator_install`]), the `azure-keyvault` and
//! `aws-secretsmanager` ClusterSecretStores exactly as in the ADR, the bootstrap
//! ExternalSecrets synced once through the operator's engine and writer, checks.
//! Phase 2 (Vault): KV v2 at `secret`, Kubernetes auth at `kubernetes`, the `external-secrets`
//! policy and role, optional AppRole, database engine and PKI, the `vault` store, checks.
//! Migration: cloud keys into Vault KV v2 through the Vault write path of
//! `secretsync-provider-vault`, with provenance. Cut-over ([`cutover`]) of any ExternalSecret,
//! the bootstrapper's or another's, to `vault`, proven byte-identical first, recorded on the
//! object; [`Bootstrapper::rollback`].
//!
//! See `docs/bootstrap.md`.

pub mod apply;
pub mod checks;
pub mod cluster;
pub mod config;
pub mod context;
pub mod cutover;
pub mod desired;
pub mod execute;
pub mod migrate;
pub mod observe;
pub mod operator_install;
pub mod plan;
pub mod record;
pub mod vault_admin;

pub use apply::{ApplyError, ApplyOptions, ApplyReport, PhaseStatus};
pub use context::{Bootstrapper, SecretLookup};
pub use desired::ClusterEndpoint;
