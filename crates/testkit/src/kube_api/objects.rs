//! The shared write pipeline (create / update / delete) and object presentation.

use super::registry::{ResourceType, Special, type_from_crd};
use super::ssa::{self, Manager, Scope, Writer};
use super::state::State;
use super::status::{ApiError, ApiResult};
use super::store::ObjKey;
use super::util::{meta_str, metadata_mut, now_rfc3339, random_suffix};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Who writes, and how.
#[derive(Debug, Clone)]
pub struct WriteCtx {
    /// The `fieldManager`.
    pub manager: String,
    /// Requested version.
    pub version: String,
    /// `status` when writing the status subresource.
    pub subresource: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldValidation=Strict`: unknown fields of custom resources are an error.
    pub strict: bool,
}

impl WriteCtx {
    /// The SSA scope of this write.
    pub fn scope(&self, rt: &ResourceType) -> Scope {
        match (rt.status_subresource, self.subresource.as_deref()) {
            (true, Some("status")) => Scope::Status,
            (true, _) => Scope::MainResource,
            _ => Scope::Whole,
        }
    }

    /// The managed-fields writer identity.
    pub fn writer(&self, rt: &ResourceType) -> Writer {
        Writer {
            manager: self.manager.clone(),
            api_version: rt.group_version(&self.version),
            subresource: self.subresource.clone().unwrap_or_default(),
            time: now_rfc3339(),
        }
    }
}

/// Renders a stored object for a request version (conversion strategy None).
pub fn present(obj: &Value, rt: &ResourceType, version: &str) -> Value {
    let mut o = obj.clone();
    if let Value::Object(m) = &mut o {
        m.insert("apiVersion".into(), rt.group_version(version).into());
        m.insert("kind".into(), rt.kind.clone().into());
    }
    o
}

/// Renders `PartialObjectMetadata`.
pub fn present_metadata(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
           "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({}))})
}

fn spec_part(obj: &Value, rt: &ResourceType) -> Value {
    let mut o = obj.clone();
    if let Value::Object(m) = &mut o {
        m.remove("metadata");
        m.remove("apiVersion");
        m.remove("kind");
        if rt.status_subresource {
            m.remove("status");
        }
    }
    o
}

fn after_commit(state: &mut State, rt: &ResourceType, obj: &Value, removed: bool) {
    if rt.special == Special::Crd
        && let Ok(t) = type_from_crd(obj)
    {
        if removed {
            state.drop_custom_type(&t.group, &t.plural);
        } else {
            state.registry.insert(t);
        }
    }
    let meta = &obj["metadata"];
    // A live object whose owners all exist gives the garbage collector nothing to do: the
    // sweep (a pass over every object) runs only when it can change something.
    let orphaned = meta["ownerReferences"].as_array().is_some_and(|refs| {
        !refs.is_empty()
            && refs
                .iter()
                .all(|r| !r["uid"].as_str().is_some_and(|u| state.store.has_uid(u)))
    });
    if removed
        || meta.get("deletionTimestamp").is_some()
        || orphaned
        || rt.special == Special::Namespace
    {
        state.lifecycle_dirty = true;
    }
}

/// What is wrong with `name` for type `rt`: namespaces take DNS labels, RBAC objects path
/// segments (`system:auth-delegator`), everything else DNS subdomains.
fn name_problem(rt: &ResourceType, name: &str) -> Option<String> {
    if rt.group == "rbac.authorization.k8s.io" {
        return match name {
            "." | ".." => Some(format!("may not be '{name}'")),
            _ => ["/", "%"]
                .iter()
                .find(|c| name.contains(*c))
                .map(|c| format!("may not contain '{c}'")),
        };
    }
    let ok = if rt.special == Special::Namespace {
        super::util::is_dns1123_label(name)
    } else {
        super::util::is_dns1123_subdomain(name)
    };
    (!ok).then(|| "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string())
}

/// Creates an object. `managers` are precomputed by server-side apply; otherwise an Update
/// manager is recorded.
pub fn create(
    state: &mut State,
    rt: &ResourceType,
    namespace: Option<&str>,
    mut obj: Value,
    ctx: &WriteCtx,
    managers: Option<Vec<Manager>>,
) -> ApiResult<Arc<Value>> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    if meta_str(&obj, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let ns = if rt.namespaced {
        let ns = namespace.unwrap_or("default").to_string();
        if let Some(body_ns) = meta_str(&obj, "namespace").filter(|n| !n.is_empty())
            && body_ns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        ns
    } else {
        String::new()
    };
    let mut name = meta_str(&obj, "name").unwrap_or_default().to_string();
    if name.is_empty() {
        match meta_str(&obj, "generateName").filter(|g| !g.is_empty()) {
            Some(prefix) => name = format!("{prefix}{}", random_suffix()),
            None => {
                return Err(ApiError::invalid(
                    &rt.group,
                    &rt.kind,
                    "",
                    vec![super::status::Cause {
                        reason: "FieldValueRequired",
                        message: "Required value: name or generateName is required".into(),
                        field: "metadata.name".into(),
                    }],
                ));
            }
        }
    }
    if let Some(problem) = name_problem(rt, &name) {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            &name,
            vec![super::status::Cause {
                reason: "FieldValueInvalid",
                message: format!("Invalid value: {name:?}: {problem}"),
                field: "metadata.name".into(),
            }],
        ));
    }
    if rt.namespaced {
        let ns_key = ObjKey {
            group: String::new(),
            resource: "namespaces".into(),
            namespace: String::new(),
            name: ns.clone(),
        };
        match state.store.get(&ns_key) {
            None => return Err(ApiError::not_found("", "namespaces", &ns)),
            Some(n) if n["metadata"].get("deletionTimestamp").is_some() => {
                return Err(ApiError::forbidden(
                    &rt.group,
                    &rt.plural,
                    &name,
                    format!(
                        "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        super::status::qualified(&rt.group, &rt.plural)
                    ),
                ));
            }
            _ => {}
        }
    }
    let key = ObjKey {
        group: rt.group.clone(),
        resource: rt.plural.clone(),
        namespace: ns.clone(),
        name: name.clone(),
    };
    if state.store.get(&key).is_some() {
        return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
    }
    if rt.status_subresource
        && rt.special == Special::Custom
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    {
        let meta = metadata_mut(&mut obj);
        meta.insert("name".into(), name.clone().into());
        if rt.namespaced {
            meta.insert("namespace".into(), ns.into());
        } else {
            meta.remove("namespace");
        }
        meta.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
        meta.insert("creationTimestamp".into(), now_rfc3339().into());
        for f in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
            "generation",
        ] {
            meta.remove(f);
        }
        if rt.tracks_generation {
            meta.insert("generation".into(), 1.into());
        }
    }
    super::kinds::prepare(state, rt, &mut obj, None, &name, ctx)?;
    let stored = present(&obj, rt, &rt.storage_version);
    let managers = match managers {
        Some(m) => m,
        None => ssa::update(
            &Value::Object(Map::new()),
            &stored,
            Vec::new(),
            &ctx.writer(rt),
            ctx.scope(rt),
            rt,
        ),
    };
    let mut stored = stored;
    ssa::set_managed_fields(&mut stored, &managers);
    if ctx.dry_run {
        return Ok(Arc::new(stored));
    }
    let out = state.store.put(key, stored);
    after_commit(state, rt, &out, false);
    if rt.special == Special::Namespace {
        super::kinds::populate_namespace(state, &name);
    }
    Ok(out)
}

/// Replaces an existing object, enforcing resourceVersion preconditions, subresource scoping,
/// validation, generation and managed fields.
#[allow(clippy::too_many_arguments)]
pub fn update(
    state: &mut State,
    rt: &ResourceType,
    key: &ObjKey,
    old: &Arc<Value>,
    mut new: Value,
    expected_rv: Option<&str>,
    ctx: &WriteCtx,
    managers: Option<Vec<Manager>>,
) -> ApiResult<Arc<Value>> {
    if !new.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    let old_rv = meta_str(old, "resourceVersion").unwrap_or_default();
    if let Some(rv) = expected_rv.filter(|rv| !rv.is_empty())
        && rv != old_rv
    {
        return Err(ApiError::conflict(&rt.group, &rt.plural, &key.name));
    }
    if let Some(n) = meta_str(&new, "name").filter(|n| !n.is_empty())
        && n != key.name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({})",
            key.name
        )));
    }
    let scope = ctx.scope(rt);
    // Like the apiserver's decodeLiveOrNew: a write to the main resource may set managedFields
    // (an empty list resets them); without any, or on a subresource, the live ones are kept.
    let requested_managers = match new["metadata"].get("managedFields") {
        _ if scope == Scope::Status => None,
        Some(Value::Array(entries))
            if entries.is_empty()
                || (entries.len() == 1 && entries[0].as_object().is_some_and(Map::is_empty)) =>
        {
            Some(Vec::new())
        }
        Some(Value::Array(_)) => Some(ssa::decode_managers(&new)).filter(|m| !m.is_empty()),
        _ => None,
    };
    match scope {
        Scope::MainResource => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        },
        Scope::Status => {
            let status = new.get("status").cloned();
            new = (**old).clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        Scope::Whole => {}
    }
    {
        let old_meta = old["metadata"].as_object().cloned().unwrap_or_default();
        let meta = metadata_mut(&mut new);
        for f in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old_meta.get(f) {
                Some(v) => meta.insert(f.into(), v.clone()),
                None => meta.remove(f),
            };
        }
        meta.remove("selfLink");
    }
    if rt.special == Special::Namespace {
        new["spec"] = old.get("spec").cloned().unwrap_or(Value::Null);
        if scope != Scope::Status {
            new["status"] = old.get("status").cloned().unwrap_or(Value::Null);
        }
    }
    super::kinds::prepare(state, rt, &mut new, Some(old), &key.name, ctx)?;
    if rt.special == Special::Crd {
        // Keep the server-maintained status.
        new["status"] = old.get("status").cloned().unwrap_or(Value::Null);
    }
    let mut new = present(&new, rt, &rt.storage_version);
    if rt.tracks_generation && spec_part(&new, rt) != spec_part(old, rt) {
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
        metadata_mut(&mut new).insert("generation".into(), generation.into());
    }
    let managers = match managers {
        Some(m) => m,
        None => ssa::update(
            old,
            &new,
            requested_managers.unwrap_or_else(|| ssa::decode_managers(old)),
            &ctx.writer(rt),
            scope,
            rt,
        ),
    };
    ssa::set_managed_fields(&mut new, &managers);
    metadata_mut(&mut new).insert("resourceVersion".into(), old_rv.into());
    if &new == old.as_ref() || ctx.dry_run {
        return Ok(if ctx.dry_run {
            Arc::new(new)
        } else {
            old.clone()
        });
    }
    let deleting = new["metadata"].get("deletionTimestamp").is_some();
    let no_finalizers = new["metadata"]["finalizers"]
        .as_array()
        .is_none_or(|f| f.is_empty());
    if deleting && no_finalizers && rt.special != Special::Namespace {
        // Like the real registry: the update that empties finalizers deletes in the same write.
        let removed = state
            .store
            .remove_with_final_state(key, Some(new))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &key.name))?;
        after_commit(state, rt, &removed, true);
        return Ok(removed);
    }
    let out = state.store.put(key.clone(), new);
    after_commit(state, rt, &out, false);
    Ok(out)
}

/// How a DELETE ended.
pub enum Deleted {
    /// The object is gone; its final state.
    Gone(Arc<Value>),
    /// The object remains with a deletionTimestamp (finalizers pending).
    Pending(Arc<Value>),
}

/// Deletes an object honouring finalizers and `propagationPolicy`.
pub fn delete(
    state: &mut State,
    rt: &ResourceType,
    key: &ObjKey,
    options: &Value,
    dry_run: bool,
) -> ApiResult<Deleted> {
    let old = state
        .store
        .get(key)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &key.name))?;
    let pre = &options["preconditions"];
    if let Some(uid) = pre.get("uid").and_then(Value::as_str)
        && Some(uid) != meta_str(&old, "uid")
    {
        return Err(ApiError::conflict_msg(
            &rt.group,
            &rt.plural,
            &key.name,
            format!(
                "Operation cannot be fulfilled on {} \"{}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                super::status::qualified(&rt.group, &rt.plural),
                key.name,
                meta_str(&old, "uid").unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = pre.get("resourceVersion").and_then(Value::as_str)
        && Some(rv) != meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::conflict_msg(
            &rt.group,
            &rt.plural,
            &key.name,
            format!(
                "Operation cannot be fulfilled on {} \"{}\": Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                super::status::qualified(&rt.group, &rt.plural),
                key.name,
                meta_str(&old, "resourceVersion").unwrap_or_default()
            ),
        ));
    }
    if dry_run {
        return Ok(Deleted::Gone(old));
    }
    let policy = options
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(
            || match options.get("orphanDependents").and_then(Value::as_bool) {
                Some(true) => Some("Orphan"),
                _ => None,
            },
        );
    let mut obj = (*old).clone();
    let mut finalizers: Vec<Value> = obj["metadata"]["finalizers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let extra = match policy {
        Some("Foreground") => Some("foregroundDeletion"),
        Some("Orphan") => Some("orphan"),
        _ => None,
    };
    let already_deleting = obj["metadata"].get("deletionTimestamp").is_some();
    if let Some(f) = extra
        && !already_deleting
        && !finalizers.iter().any(|x| x == f)
    {
        finalizers.push(f.into());
    }
    if rt.special == Special::Namespace {
        if !already_deleting {
            let meta = metadata_mut(&mut obj);
            meta.insert("deletionTimestamp".into(), now_rfc3339().into());
            meta.insert("deletionGracePeriodSeconds".into(), 0.into());
            obj["status"] = json!({"phase": "Terminating"});
            let out = state.store.put(key.clone(), obj);
            state.lifecycle_dirty = true;
            return Ok(Deleted::Pending(out));
        }
        return Ok(Deleted::Pending(old));
    }
    if finalizers.is_empty() {
        let gone = state.store.remove(key).unwrap_or(old);
        after_commit(state, rt, &gone, true);
        return Ok(Deleted::Gone(gone));
    }
    if already_deleting && extra.is_none() {
        return Ok(Deleted::Pending(old));
    }
    let meta = metadata_mut(&mut obj);
    meta.insert("finalizers".into(), Value::Array(finalizers));
    if !already_deleting {
        meta.insert("deletionTimestamp".into(), now_rfc3339().into());
        meta.insert("deletionGracePeriodSeconds".into(), 0.into());
        if rt.tracks_generation {
            let g = meta.get("generation").and_then(Value::as_i64).unwrap_or(1) + 1;
            meta.insert("generation".into(), g.into());
        }
    }
    let out = state.store.put(key.clone(), obj);
    state.lifecycle_dirty = true;
    Ok(Deleted::Pending(out))
}
