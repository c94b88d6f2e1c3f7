//! Connection handling, authentication, routing and discovery documents.

use super::Shared;
use super::auth::{self, Caller};
use super::crud::{self, Target};
use super::http::{Body, Req, RequestRecord, error_response, json_response, text_response};
use super::rbac::{self, User};
use super::status::ApiError;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Accepts connections until the listener task is dropped.
pub async fn serve(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(shared, req).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    if let Ok(tls_stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(tls_stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let path = parts.uri.path().to_string();
    let protobuf = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/vnd.kubernetes.protobuf"));
    let body = if protobuf && !body.is_empty() {
        match super::protobuf::decode(&body) {
            Ok(v) => Bytes::from(v.to_string()),
            Err(msg) => return error_response(&ApiError::unsupported_media_type(&msg)),
        }
    } else {
        body
    };
    let req = Req {
        method: parts.method,
        segments: path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect(),
        query: parse_query(parts.uri.query()),
        headers: parts.headers,
        body,
    };
    let mut record = RequestRecord {
        method: req.method.to_string(),
        path,
        verb: "nonresource".into(),
        group: String::new(),
        resource: String::new(),
        subresource: String::new(),
        namespace: String::new(),
        name: String::new(),
        code: 0,
        user_agent: req.header("user-agent").to_string(),
        content_type: req.header("content-type").to_string(),
    };
    let response = route(&shared, &req, &mut record);
    record.code = response.status().as_u16();
    tracing::debug!(
        target: "secretsync_testkit::kube_api",
        method = %record.method,
        path = %record.path,
        verb = %record.verb,
        code = record.code,
        "request"
    );
    shared.record(record);
    response
}

fn public_path(segments: &[String]) -> bool {
    let joined = segments.join("/");
    matches!(
        joined.as_str(),
        "version"
            | "healthz"
            | "livez"
            | "readyz"
            | ".well-known/openid-configuration"
            | "openid/v1/jwks"
    )
}

fn route(shared: &Arc<Shared>, req: &Req, record: &mut RequestRecord) -> Response<Body> {
    let caller = match auth::authenticate(shared, req) {
        Ok(c) => c,
        Err(e) => return error_response(&e),
    };
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    if caller == Caller::Anonymous && !public_path(&req.segments) {
        return error_response(&ApiError::unauthorized());
    }
    let content_type = req.header("content-type");
    if !req.body.is_empty() && content_type.contains("cbor") {
        return error_response(&ApiError::unsupported_media_type(content_type));
    }
    let user = match &caller {
        Caller::ServiceAccount { namespace, name } => Some(User::service_account(namespace, name)),
        Caller::Admin | Caller::Anonymous => None,
    };
    if let Some(user) = &user
        && !is_resource_path(&seg)
    {
        let attrs = rbac::Request::NonResource {
            verb: req.method.as_str().to_ascii_lowercase(),
            path: format!("/{}", req.segments.join("/")),
        };
        if let Err(e) = authorize(shared, user, &attrs) {
            return error_response(&e);
        }
    }
    match seg.as_slice() {
        ["version"] => json_response(
            200,
            &json!({
            "major": "1", "minor": "32", "gitVersion": "v1.32.0-secretsync-testkit",
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64"}),
        ),
        ["healthz"] | ["livez"] | ["readyz"] => text_response(200, "ok"),
        [".well-known", "openid-configuration"] => {
            json_response(200, &shared.tokens.openid_configuration())
        }
        ["openid", "v1", "jwks"] => json_response(200, &shared.tokens.jwks()),
        ["openapi", "v3"] => json_response(200, &super::openapi::root(shared)),
        ["openapi", "v3", rest @ ..] => {
            match super::openapi::group_version_doc(shared, &rest.join("/")) {
                Some(doc) => json_response(200, &doc),
                None => error_response(&ApiError::path_not_found()),
            }
        }
        ["api"] => json_response(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.host_port}]}),
        ),
        ["apis"] => json_response(200, &api_group_list(shared)),
        ["api", "v1"] => json_response(200, &resource_list(shared, "", "v1")),
        ["apis", group] => match group_doc(shared, group) {
            Some(g) => json_response(200, &g),
            None => error_response(&ApiError::path_not_found()),
        },
        ["apis", "authentication.k8s.io", "v1"] => json_response(
            200,
            &json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "authentication.k8s.io/v1",
            "resources": [{"name": "tokenreviews", "singularName": "tokenreview", "namespaced": false,
                "kind": "TokenReview", "verbs": ["create"]}]}),
        ),
        ["apis", "authentication.k8s.io", "v1", "tokenreviews"] if req.method == Method::POST => {
            record.verb = "create".into();
            record.group = "authentication.k8s.io".into();
            record.resource = "tokenreviews".into();
            let attrs =
                rbac::Request::resource("create", &record.group, "tokenreviews", "", "", "");
            match authorize_opt(shared, user.as_ref(), &attrs)
                .and_then(|()| auth::token_review(shared, req))
            {
                Ok((code, v)) => json_response(code, &v),
                Err(e) => error_response(&e),
            }
        }
        [
            "apis",
            "authorization.k8s.io",
            "v1",
            plural @ ("selfsubjectaccessreviews" | "subjectaccessreviews"),
        ] if req.method == Method::POST => {
            record.verb = "create".into();
            record.group = "authorization.k8s.io".into();
            record.resource = plural.to_string();
            let attrs = rbac::Request::resource("create", &record.group, plural, "", "", "");
            match authorize_opt(shared, user.as_ref(), &attrs)
                .and_then(|()| super::reviews::access_review(shared, req, plural, user.as_ref()))
            {
                Ok((code, v)) => json_response(code, &v),
                Err(e) => error_response(&e),
            }
        }
        ["apis", "authorization.k8s.io", "v1"] => json_response(
            200,
            &json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "authorization.k8s.io/v1",
            "resources": [
                {"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview", "namespaced": false,
                    "kind": "SelfSubjectAccessReview", "verbs": ["create"]},
                {"name": "subjectaccessreviews", "singularName": "subjectaccessreview", "namespaced": false,
                    "kind": "SubjectAccessReview", "verbs": ["create"]}]}),
        ),
        ["apis", group, version] => {
            let doc = resource_list(shared, group, version);
            if doc["resources"].as_array().is_some_and(|r| r.is_empty()) {
                error_response(&ApiError::path_not_found())
            } else {
                json_response(200, &doc)
            }
        }
        ["api", "v1", rest @ ..] => {
            resource_request(shared, req, record, user.as_ref(), "", "v1", rest)
        }
        ["apis", group, version, rest @ ..] => {
            resource_request(shared, req, record, user.as_ref(), group, version, rest)
        }
        _ => error_response(&ApiError::path_not_found()),
    }
}

/// True for paths under `/api/v1/` and `/apis/<group>/<version>/` (everything else is a
/// non-resource URL for authorization).
fn is_resource_path(seg: &[&str]) -> bool {
    matches!(seg, ["api", "v1", _, ..] | ["apis", _, _, _, ..])
}

/// RBAC check of a service-account caller; 403 with the API server's message when denied.
fn authorize(shared: &Shared, user: &User, attrs: &rbac::Request) -> Result<(), ApiError> {
    let policy = rbac::Policy::from_store(&shared.lock().store);
    if policy.allows(user, attrs) {
        Ok(())
    } else {
        Err(attrs.forbidden(user))
    }
}

/// [`authorize`] for service-account callers; the admin is unrestricted.
fn authorize_opt(
    shared: &Shared,
    user: Option<&User>,
    attrs: &rbac::Request,
) -> Result<(), ApiError> {
    match user {
        Some(user) => authorize(shared, user, attrs),
        None => Ok(()),
    }
}

fn resource_request(
    shared: &Arc<Shared>,
    req: &Req,
    record: &mut RequestRecord,
    user: Option<&User>,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Response<Body> {
    let (namespace, rest) = match rest {
        ["namespaces", ns, r, tail @ ..] if !matches!(*r, "status" | "finalize") => {
            (Some(ns.to_string()), {
                let mut v = vec![*r];
                v.extend_from_slice(tail);
                v
            })
        }
        _ => (None, rest.to_vec()),
    };
    let (plural, name, sub) = match rest.as_slice() {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(n.to_string()), None),
        [p, n, s] => (*p, Some(n.to_string()), Some(s.to_string())),
        _ => return error_response(&ApiError::path_not_found()),
    };
    let Some(rt) = shared.lock().registry.lookup(group, version, plural) else {
        return error_response(&ApiError::path_not_found());
    };
    if namespace.is_some() && !rt.namespaced {
        return error_response(&ApiError::path_not_found());
    }
    let t = Target {
        rt,
        version: version.to_string(),
        namespace,
        name,
        subresource: sub,
    };
    record.group = group.into();
    record.resource = plural.into();
    record.namespace = t.namespace.clone().unwrap_or_default();
    record.name = t.name.clone().unwrap_or_default();
    record.subresource = t.subresource.clone().unwrap_or_default();
    record.verb = t.verb(req).into();
    let attrs = rbac::Request::resource(
        &record.verb,
        group,
        plural,
        &record.subresource,
        &record.namespace,
        &record.name,
    );
    if let Err(e) = authorize_opt(shared, user, &attrs) {
        return error_response(&e);
    }
    if record.verb == "watch" {
        return super::watch::handle(shared.clone(), req, &t);
    }
    crud::handle(shared, req, &t)
}

fn groups(shared: &Shared) -> BTreeMap<String, Vec<String>> {
    let state = shared.lock();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in state.registry.all().filter(|t| !t.group.is_empty()) {
        let versions = out.entry(t.group.clone()).or_default();
        for v in &t.versions {
            if !versions.contains(v) {
                versions.push(v.clone());
            }
        }
    }
    for builtin in ["authentication.k8s.io", "authorization.k8s.io"] {
        out.entry(builtin.into()).or_default().push("v1".into());
    }
    out
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

fn api_group_list(shared: &Shared) -> Value {
    let gs: Vec<Value> = groups(shared)
        .iter()
        .map(|(n, v)| group_json(n, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
}

fn group_doc(shared: &Shared, group: &str) -> Option<Value> {
    let gs = groups(shared);
    let versions = gs.get(group)?;
    let mut g = group_json(group, versions);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

fn resource_list(shared: &Shared, group: &str, version: &str) -> Value {
    let state = shared.lock();
    let resources: Vec<Value> = state
        .registry
        .all()
        .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
        .flat_map(|t| t.discovery_entries())
        .collect();
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}
