//! Test doubles (Kubernetes API, Azure Key Vault), peer launchers (moto, OpenBao, PostgreSQL)
//! and the one provider factory for tests ([`providers::TestFactory`]).
pub mod azure;
pub mod cluster;
pub mod cluster_lock;
pub mod hostile;
pub mod kube_api;
pub mod logs;
pub mod peers;
pub mod providers;
