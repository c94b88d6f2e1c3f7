//! Kubernetes writer and controllers for secretsync.
