//! A minimal OpenAPI v3 surface: just enough for kubectl to see that PATCH endpoints accept
//! `fieldValidation` (so it uses server-side field validation instead of downloading schemas).
//! Schemas are not served (`kubectl explain` and client-side validation do not work).

use super::Shared;
use serde_json::{Map, Value, json};

fn fnv(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3/<gv path>` document, or `None` for unknown group-versions.
pub fn group_version_doc(shared: &Shared, gv: &str) -> Option<Value> {
    let state = shared.lock();
    let mut paths = Map::new();
    for t in state.registry.all() {
        for v in &t.versions {
            if gv_path(&t.group, v) != gv {
                continue;
            }
            let base = if t.namespaced {
                format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
            } else {
                format!("/{gv}/{}/{{name}}", t.plural)
            };
            let op = json!({
                "operationId": format!("patch{}", t.kind),
                "x-kubernetes-group-version-kind": {"group": t.group, "version": v, "kind": t.kind},
                "x-kubernetes-action": "patch",
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}
                ],
                "responses": {"200": {"description": "OK"}}
            });
            paths.insert(base, json!({"patch": op}));
        }
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}}
    }))
}

/// `/openapi/v3` root listing every group-version.
pub fn root(shared: &Shared) -> Value {
    let gvs: Vec<String> = {
        let state = shared.lock();
        let mut v: Vec<String> = state
            .registry
            .all()
            .flat_map(|t| {
                t.versions
                    .iter()
                    .map(|ver| gv_path(&t.group, ver))
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let mut paths = Map::new();
    for gv in gvs {
        let hash = group_version_doc(shared, &gv)
            .map(|d| fnv(&d.to_string()))
            .unwrap_or_default();
        paths.insert(
            gv.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}
