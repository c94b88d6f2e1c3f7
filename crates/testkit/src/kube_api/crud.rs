//! Resource endpoints: get, list, create, update, patch (incl. server-side apply), delete,
//! deletecollection.

use super::Shared;
use super::http::{Body, Req, error_response, json_response};
use super::objects::{self, Deleted, WriteCtx, present, present_metadata};
use super::patch::{json_patch, merge_patch, strategic_merge_patch};
use super::registry::{ResourceType, Special};
use super::selectors::Selector;
use super::ssa;
use super::status::{ApiError, ApiResult};
use super::store::ObjKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// A resolved resource request.
#[derive(Debug, Clone)]
pub struct Target {
    /// The type.
    pub rt: Arc<ResourceType>,
    /// Requested version.
    pub version: String,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource.
    pub subresource: Option<String>,
}

impl Target {
    /// The store key of the named object.
    pub fn key(&self) -> ObjKey {
        ObjKey {
            group: self.rt.group.clone(),
            resource: self.rt.plural.clone(),
            namespace: if self.rt.namespaced {
                self.namespace.clone().unwrap_or_default()
            } else {
                String::new()
            },
            name: self.name.clone().unwrap_or_default(),
        }
    }

    /// The Kubernetes verb for logging.
    pub fn verb(&self, req: &Req) -> &'static str {
        match (&req.method, self.name.is_some()) {
            (&Method::GET, false) if req.flag("watch") => "watch",
            (&Method::GET, false) => "list",
            (&Method::GET, true) => "get",
            (&Method::POST, _) => "create",
            (&Method::PUT, _) => "update",
            (&Method::PATCH, _) => "patch",
            (&Method::DELETE, false) => "deletecollection",
            (&Method::DELETE, true) => "delete",
            _ => "unknown",
        }
    }
}

fn write_ctx(req: &Req, t: &Target) -> WriteCtx {
    WriteCtx {
        manager: req.field_manager(),
        version: t.version.clone(),
        subresource: t.subresource.clone(),
        dry_run: req.q("dryRun") == Some("All"),
        strict: req.q("fieldValidation") == Some("Strict"),
    }
}

fn render(req: &Req, t: &Target, obj: &Value) -> Value {
    if req.wants_metadata() {
        present_metadata(obj)
    } else {
        present(obj, &t.rt, &t.version)
    }
}

/// Dispatches a resource request (everything except watch).
pub fn handle(shared: &Shared, req: &Req, t: &Target) -> Response<Body> {
    let result = match (&req.method, t.name.is_some(), t.subresource.as_deref()) {
        (&Method::GET, false, None) => list(shared, req, t),
        (&Method::POST, false, None) => create(shared, req, t).map(|v| (201, v)),
        (&Method::DELETE, false, None) => delete_collection(shared, req, t),
        (&Method::GET, true, None | Some("status")) => get(shared, req, t),
        (&Method::PUT, true, None | Some("status")) => update(shared, req, t),
        (&Method::PATCH, true, None | Some("status")) => patch(shared, req, t),
        (&Method::DELETE, true, None) => delete(shared, req, t),
        (&Method::POST, true, Some("token"))
            if t.rt.plural == "serviceaccounts" && t.rt.group.is_empty() =>
        {
            super::auth::token_request(shared, req, t)
        }
        _ => Err(ApiError::method_not_allowed()),
    };
    match result {
        Ok((code, v)) => json_response(code, &v),
        Err(e) => error_response(&e),
    }
}

fn get(shared: &Shared, req: &Req, t: &Target) -> ApiResult<(u16, Value)> {
    if t.subresource.as_deref() == Some("status") && !t.rt.status_subresource {
        return Err(ApiError::path_not_found());
    }
    let state = shared.lock();
    let obj = state.store.get(&t.key()).ok_or_else(|| {
        ApiError::not_found(
            &t.rt.group,
            &t.rt.plural,
            t.name.as_deref().unwrap_or_default(),
        )
    })?;
    Ok((200, render(req, t, &obj)))
}

/// Parses label/field selectors from the query.
pub fn selector(req: &Req, rt: &ResourceType) -> ApiResult<Selector> {
    let sel = Selector::parse(req.q("labelSelector"), req.q("fieldSelector"))
        .map_err(ApiError::bad_request)?;
    sel.check_fields(&rt.plural, &rt.group)
        .map_err(ApiError::bad_request)?;
    Ok(sel)
}

fn list(shared: &Shared, req: &Req, t: &Target) -> ApiResult<(u16, Value)> {
    let sel = selector(req, &t.rt)?;
    let limit: usize = req
        .q("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let (list_rv, start_after) = match req.q("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let decoded: Value = URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| {
                    ApiError::bad_request("continue key is not valid: illegal base64 data")
                })?;
            (
                decoded["rv"].as_u64(),
                decoded["start"].as_str().map(String::from),
            )
        }
        None => (None, None),
    };
    let state = shared.lock();
    if let Some(rv) = list_rv
        && rv < state.store.compacted_rv()
    {
        return Err(ApiError::gone(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        ));
    }
    let ns = if t.rt.namespaced {
        t.namespace.as_deref()
    } else {
        None
    };
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    let mut remaining = 0usize;
    for (k, obj) in state.store.list(&t.rt.group, &t.rt.plural, ns) {
        let pos = format!("{}/{}", k.namespace, k.name);
        if start_after.as_ref().is_some_and(|s| &pos <= s) {
            continue;
        }
        if !sel.matches(obj) {
            continue;
        }
        if items.len() >= limit {
            remaining += 1;
            continue;
        }
        if items.len() + 1 == limit {
            next = Some(pos);
        }
        let mut item = render(req, t, obj);
        if t.rt.special != Special::Custom
            && !req.wants_metadata()
            && let Value::Object(m) = &mut item
        {
            m.remove("apiVersion");
            m.remove("kind");
        }
        items.push(item);
    }
    let rv = list_rv.unwrap_or(state.store.current_rv());
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if remaining > 0
        && let Some(pos) = next
    {
        metadata["continue"] =
            json!(URL_SAFE_NO_PAD.encode(json!({"rv": rv, "start": pos}).to_string()));
        if sel.is_empty() {
            metadata["remainingItemCount"] = json!(remaining);
        }
    }
    let (kind, api_version) = if req.wants_metadata() {
        (
            "PartialObjectMetadataList".to_string(),
            "meta.k8s.io/v1".to_string(),
        )
    } else {
        (t.rt.list_kind.clone(), t.rt.group_version(&t.version))
    };
    Ok((
        200,
        json!({"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items}),
    ))
}

fn create(shared: &Shared, req: &Req, t: &Target) -> ApiResult<Value> {
    let body = req.body_value()?;
    let ctx = write_ctx(req, t);
    let mut state = shared.lock();
    let out = objects::create(&mut state, &t.rt, t.namespace.as_deref(), body, &ctx, None)?;
    state.reconcile_lifecycle();
    Ok(render(req, t, &out))
}

fn existing(state: &super::state::State, t: &Target) -> ApiResult<Arc<Value>> {
    state.store.get(&t.key()).ok_or_else(|| {
        ApiError::not_found(
            &t.rt.group,
            &t.rt.plural,
            t.name.as_deref().unwrap_or_default(),
        )
    })
}

fn update(shared: &Shared, req: &Req, t: &Target) -> ApiResult<(u16, Value)> {
    let body = req.body_value()?;
    let ctx = write_ctx(req, t);
    let mut state = shared.lock();
    let old = existing(&state, t)?;
    let rv = body["metadata"]["resourceVersion"]
        .as_str()
        .map(String::from);
    let out = objects::update(
        &mut state,
        &t.rt,
        &t.key(),
        &old,
        body,
        rv.as_deref(),
        &ctx,
        None,
    )?;
    state.reconcile_lifecycle();
    Ok((200, render(req, t, &out)))
}

fn patch(shared: &Shared, req: &Req, t: &Target) -> ApiResult<(u16, Value)> {
    let content_type = req
        .header("content-type")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let body = req.body_value()?;
    let ctx = write_ctx(req, t);
    let mut state = shared.lock();
    if content_type == "application/apply-patch+yaml" {
        return apply(&mut state, req, t, body, &ctx);
    }
    let old = existing(&state, t)?;
    let mut doc = present(&old, &t.rt, &t.version);
    match content_type.as_str() {
        "application/merge-patch+json" => merge_patch(&mut doc, &body),
        "application/strategic-merge-patch+json" => {
            if t.rt.special == Special::Custom {
                return Err(ApiError {
                    code: 415,
                    reason: "UnsupportedMediaType",
                    message: "strategic merge patch is not supported for custom resources".into(),
                    details: None,
                });
            }
            strategic_merge_patch(&mut doc, &body)
        }
        "application/json-patch+json" => json_patch(&mut doc, &body).map_err(|m| ApiError {
            code: 422,
            reason: "Invalid",
            message: m,
            details: None,
        })?,
        other => return Err(ApiError::unsupported_media_type(other)),
    }
    let rv = doc["metadata"]["resourceVersion"]
        .as_str()
        .map(String::from);
    let out = objects::update(
        &mut state,
        &t.rt,
        &t.key(),
        &old,
        doc,
        rv.as_deref(),
        &ctx,
        None,
    )?;
    state.reconcile_lifecycle();
    Ok((200, render(req, t, &out)))
}

fn apply(
    state: &mut super::state::State,
    req: &Req,
    t: &Target,
    config: Value,
    ctx: &WriteCtx,
) -> ApiResult<(u16, Value)> {
    if req.q("fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: the applied configuration must be an object",
        ));
    }
    let name = t.name.clone().unwrap_or_default();
    let expected_gv = t.rt.group_version(&t.version);
    if config["apiVersion"].as_str() != Some(expected_gv.as_str())
        || config["kind"].as_str() != Some(t.rt.kind.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "the apiVersion and kind of the applied object must be {expected_gv}, Kind={}",
            t.rt.kind
        )));
    }
    if let Some(n) = config["metadata"]["name"].as_str()
        && n != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    let force = req.flag("force");
    let writer = ctx.writer(&t.rt);
    let scope = ctx.scope(&t.rt);
    let key = t.key();
    let old = state.store.get(&key);
    let live = old
        .as_ref()
        .map(|o| present(o, &t.rt, &t.version))
        .unwrap_or_else(ssa::empty_object);
    let managers = old
        .as_ref()
        .map(|o| ssa::decode_managers(o))
        .unwrap_or_default();
    let applied = ssa::apply(
        &live,
        &config,
        managers,
        &writer,
        scope,
        force,
        t.rt.as_ref(),
    )
    .map_err(|c| ApiError::apply_conflict(&c.0))?;
    let rv = config["metadata"]["resourceVersion"]
        .as_str()
        .map(String::from);
    let out = match old {
        Some(old) => objects::update(
            state,
            &t.rt,
            &key,
            &old,
            applied.object,
            rv.as_deref(),
            ctx,
            Some(applied.managers),
        )?,
        None => {
            if t.subresource.is_some() {
                return Err(ApiError::not_found(&t.rt.group, &t.rt.plural, &name));
            }
            let mut obj = applied.object;
            obj["apiVersion"] = json!(expected_gv);
            obj["kind"] = json!(t.rt.kind);
            obj["metadata"]["name"] = json!(name);
            let created = objects::create(
                state,
                &t.rt,
                t.namespace.as_deref(),
                obj,
                ctx,
                Some(applied.managers),
            )?;
            state.reconcile_lifecycle();
            return Ok((201, render(req, t, &created)));
        }
    };
    state.reconcile_lifecycle();
    Ok((200, render(req, t, &out)))
}

fn delete_options(req: &Req) -> ApiResult<Value> {
    let mut opts = req.body_value()?;
    if !opts.is_object() {
        opts = json!({});
    }
    if let Some(p) = req.q("propagationPolicy") {
        opts["propagationPolicy"] = json!(p);
    }
    Ok(opts)
}

fn delete(shared: &Shared, req: &Req, t: &Target) -> ApiResult<(u16, Value)> {
    let opts = delete_options(req)?;
    let mut state = shared.lock();
    let outcome = objects::delete(
        &mut state,
        &t.rt,
        &t.key(),
        &opts,
        req.q("dryRun") == Some("All"),
    )?;
    state.reconcile_lifecycle();
    Ok(match outcome {
        Deleted::Pending(obj) => (200, render(req, t, &obj)),
        Deleted::Gone(obj)
            if matches!(
                t.rt.special,
                Special::Custom | Special::Namespace | Special::Crd
            ) =>
        {
            (200, render(req, t, &obj))
        }
        Deleted::Gone(obj) => (
            200,
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": status_details(t, &obj)
            }),
        ),
    })
}

fn delete_collection(shared: &Shared, req: &Req, t: &Target) -> ApiResult<(u16, Value)> {
    if t.rt.special == Special::Namespace {
        return Err(ApiError::method_not_allowed());
    }
    let sel = selector(req, &t.rt)?;
    let opts = delete_options(req)?;
    let mut state = shared.lock();
    let ns = if t.rt.namespaced {
        t.namespace.as_deref()
    } else {
        None
    };
    let keys: Vec<ObjKey> = state
        .store
        .list(&t.rt.group, &t.rt.plural, ns)
        .filter(|(_, o)| sel.matches(o))
        .map(|(k, _)| k.clone())
        .collect();
    let mut items = Vec::new();
    for k in keys {
        match objects::delete(&mut state, &t.rt, &k, &opts, req.q("dryRun") == Some("All"))? {
            Deleted::Gone(o) | Deleted::Pending(o) => items.push(present(&o, &t.rt, &t.version)),
        }
    }
    state.reconcile_lifecycle();
    let rv = state.store.current_rv().to_string();
    Ok((
        200,
        json!({"kind": t.rt.list_kind, "apiVersion": t.rt.group_version(&t.version),
        "metadata": {"resourceVersion": rv}, "items": items}),
    ))
}

fn status_details(t: &Target, obj: &Value) -> Value {
    let mut d = json!({"name": t.name, "kind": t.rt.plural, "uid": obj["metadata"]["uid"]});
    if !t.rt.group.is_empty() {
        d["group"] = json!(t.rt.group);
    }
    d
}
