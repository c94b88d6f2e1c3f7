//! The operator binary run as its own ServiceAccount under each overlay's RBAC
//! (`deploy/overlays/{cluster-wide,namespace-scoped,ha}`), with the Deployment's own arguments:
//! ready within 10 s, syncs, and no request is forbidden (on the double RBAC is enforced as on
//! a real cluster; there the request log must hold no 403 at all, and on both the operator's log
//! must not mention one).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::support;

use support::Cluster;
use support::overlay;

fn run_overlay(overlay_name: &str) {
    let mut cluster = Cluster::start();
    let docs = overlay::build(&cluster, overlay_name);
    overlay::install(&mut cluster, &docs);
    overlay::run_as_service_account(&mut cluster, &docs, overlay_name);
}

#[test]
fn cluster_wide_rbac_is_enough() {
    run_overlay("cluster-wide");
}

#[test]
fn namespace_scoped_rbac_is_enough() {
    run_overlay("namespace-scoped");
}

#[test]
fn ha_rbac_is_enough() {
    run_overlay("ha");
}
