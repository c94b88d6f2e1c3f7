//! HTTP plumbing: the parsed request, response builders and the request log.

use super::status::ApiError;
use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;

/// The response body type.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A request, with the body already read.
#[derive(Debug)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Decoded path segments.
    pub segments: Vec<String>,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Req {
    /// A query parameter.
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }

    /// A boolean query parameter, parsed like Go's `strconv.ParseBool` as the API server does
    /// (`1`, `t`, `T`, `TRUE`, `true`, `True`; the Python client sends `True`).
    pub fn flag(&self, k: &str) -> bool {
        matches!(self.q(k), Some("1" | "t" | "T" | "TRUE" | "true" | "True"))
    }

    /// A header as text.
    pub fn header(&self, k: &str) -> &str {
        self.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Whether the client asked for `PartialObjectMetadata(List)`.
    pub fn wants_metadata(&self) -> bool {
        let accept = self.header("accept");
        accept.contains("as=PartialObjectMetadata")
            && accept
                .split(',')
                .next()
                .is_some_and(|first| first.contains("as=PartialObjectMetadata"))
    }

    /// The body parsed as JSON or YAML.
    pub fn body_value(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        if let Ok(v) = serde_json::from_slice(&self.body) {
            return Ok(v);
        }
        serde_yaml::from_slice::<Value>(&self.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))
    }

    /// The field manager: `fieldManager`, else the User-Agent's product name.
    pub fn field_manager(&self) -> String {
        match self.q("fieldManager") {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => self
                .header("user-agent")
                .split('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .to_string(),
        }
    }
}

/// A JSON response.
pub fn json_response(code: u16, v: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())).boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A plain-text response.
pub fn text_response(code: u16, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())).boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", http::HeaderValue::from_static("text/plain"));
    r
}

/// The `Status` response of an error.
pub fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

/// One handled request, for assertions in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path (without query).
    pub path: String,
    /// Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection,
    /// or `nonresource`.
    pub verb: String,
    /// API group.
    pub group: String,
    /// Plural resource (empty for non-resource requests).
    pub resource: String,
    /// Subresource (e.g. `status`, `token`).
    pub subresource: String,
    /// Namespace.
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Response status code.
    pub code: u16,
    /// The `User-Agent` header (empty when absent: kube-rs sends none).
    pub user_agent: String,
    /// The `Content-Type` header (tells a server-side apply from other patches).
    pub content_type: String,
}

impl RequestRecord {
    /// True for create, update, patch, delete and deletecollection.
    pub fn is_write(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        )
    }

    /// The verb as a real API server's `apiserver_request_total` reports it: `GET`, `LIST`,
    /// `WATCH`, `POST`, `PUT`, `PATCH`, `APPLY` (a server-side apply patch), `DELETE`,
    /// `DELETECOLLECTION`; non-resource requests keep their HTTP method.
    pub fn metric_verb(&self) -> String {
        match self.verb.as_str() {
            "create" => "POST".into(),
            "update" => "PUT".into(),
            "patch" if self.content_type.contains("apply-patch") => "APPLY".into(),
            "nonresource" => self.method.clone(),
            verb => verb.to_ascii_uppercase(),
        }
    }

    /// `<metric verb> <resource>[/<subresource>]`, e.g. `APPLY secrets` or
    /// `PATCH externalsecrets/status`; `<METHOD> <path>` for non-resource requests.
    pub fn kind(&self) -> String {
        match (self.resource.is_empty(), self.subresource.is_empty()) {
            (true, _) => format!("{} {}", self.method, self.path),
            (false, true) => format!("{} {}", self.metric_verb(), self.resource),
            (false, false) => format!(
                "{} {}/{}",
                self.metric_verb(),
                self.resource,
                self.subresource
            ),
        }
    }
}

/// How many requests of each [`RequestRecord::kind`] `records` hold.
pub fn count_by_kind<'a>(
    records: impl IntoIterator<Item = &'a RequestRecord>,
) -> std::collections::BTreeMap<String, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for record in records {
        *counts.entry(record.kind()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(method: &str, verb: &str, resource: &str, sub: &str, ct: &str) -> RequestRecord {
        RequestRecord {
            method: method.into(),
            path: "/version".into(),
            verb: verb.into(),
            group: String::new(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: String::new(),
            name: String::new(),
            code: 200,
            user_agent: String::new(),
            content_type: ct.into(),
        }
    }

    #[test]
    fn kinds_use_the_api_servers_metric_verbs() {
        let apply = "application/apply-patch+yaml";
        let merge = "application/merge-patch+json";
        let table = [
            (
                record("GET", "get", "secretstores", "", ""),
                "GET secretstores",
            ),
            (record("GET", "list", "secrets", "", ""), "LIST secrets"),
            (record("GET", "watch", "secrets", "", ""), "WATCH secrets"),
            (
                record("POST", "create", "events", "", "application/json"),
                "POST events",
            ),
            (
                record("PUT", "update", "leases", "", "application/json"),
                "PUT leases",
            ),
            (
                record("PATCH", "patch", "secrets", "", apply),
                "APPLY secrets",
            ),
            (
                record("PATCH", "patch", "externalsecrets", "status", merge),
                "PATCH externalsecrets/status",
            ),
            (
                record("DELETE", "delete", "secrets", "", ""),
                "DELETE secrets",
            ),
            (record("GET", "nonresource", "", "", ""), "GET /version"),
        ];
        for (r, kind) in &table {
            assert_eq!(r.kind(), *kind, "{r:?}");
        }
        let counts = count_by_kind(table.iter().map(|(r, _)| r).chain([&table[0].0]));
        assert_eq!(counts.get("GET secretstores"), Some(&2));
        assert_eq!(counts.get("APPLY secrets"), Some(&1));
        assert_eq!(counts.len(), table.len());
    }
}
