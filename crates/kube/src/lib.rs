//! Kubernetes writer and controllers for secretsync.
pub mod credentials;
pub mod drift;
pub mod environment;
pub mod writer;
