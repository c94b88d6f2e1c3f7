//! `?watch=true`: newline-delimited JSON watch events with bookmarks, resumption, 410 Gone and
//! streaming lists (`sendInitialEvents=true`).

use super::Shared;
use super::crud::{Target, selector};
use super::http::{Body, Req, error_response};
use super::objects::{present, present_metadata};
use super::status::ApiError;
use super::store::{WatchFilter, WatchMsg};
use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

fn line(v: &Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

/// Handles a watch request.
pub fn handle(shared: Arc<Shared>, req: &Req, t: &Target) -> Response<Body> {
    let sel = match selector(req, &t.rt) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    let metadata_only = req.wants_metadata();
    let bookmarks = req.flag("allowWatchBookmarks");
    let send_initial = req.flag("sendInitialEvents");
    let timeout = req.q("timeoutSeconds").and_then(|s| s.parse::<u64>().ok());
    let filter = WatchFilter {
        group: t.rt.group.clone(),
        resource: t.rt.plural.clone(),
        namespace: if t.rt.namespaced {
            t.namespace.clone()
        } else {
            None
        },
        selector: sel,
    };
    let rt = t.rt.clone();
    let version = t.version.clone();
    let render = move |obj: &Value| {
        if metadata_only {
            present_metadata(obj)
        } else {
            present(obj, &rt, &version)
        }
    };
    let bookmark = {
        let rt = t.rt.clone();
        let version = t.version.clone();
        move |rv: u64, end: bool| {
            let mut meta = json!({"resourceVersion": rv.to_string()});
            if end {
                meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            let (kind, api_version) = if metadata_only {
                (
                    "PartialObjectMetadata".to_string(),
                    "meta.k8s.io/v1".to_string(),
                )
            } else {
                (rt.kind.clone(), rt.group_version(&version))
            };
            json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version, "metadata": meta}})
        }
    };
    let mut initial: Vec<Value> = Vec::new();
    let rx;
    {
        let mut state = shared.lock();
        let rv_param = req.q("resourceVersion").unwrap_or_default();
        let current = state.store.current_rv();
        if send_initial || rv_param.is_empty() || rv_param == "0" {
            let ns = filter.namespace.as_deref();
            for (_, obj) in state.store.list(&filter.group, &filter.resource, ns) {
                if filter.selector.matches(obj) {
                    initial.push(json!({"type": "ADDED", "object": render(obj)}));
                }
            }
            if send_initial && bookmarks {
                initial.push(bookmark(current, true));
            }
        } else {
            let Ok(rv) = rv_param.parse::<u64>() else {
                return error_response(&ApiError::bad_request(format!(
                    "invalid resource version: {rv_param}"
                )));
            };
            match state.store.changes_since(rv, &filter) {
                Some(events) => {
                    for (kind, obj) in events {
                        initial.push(json!({"type": kind, "object": render(&obj)}));
                    }
                }
                None => {
                    let status = ApiError::gone(format!(
                        "too old resource version: {rv} ({})",
                        state.store.compacted_rv() + 1
                    ))
                    .to_status();
                    initial.push(json!({"type": "ERROR", "object": status}));
                    let body = StreamBody::new(futures::stream::iter(
                        initial
                            .into_iter()
                            .map(|v| Ok::<_, Infallible>(Frame::data(line(&v)))),
                    ));
                    return streaming(body.boxed_unsync());
                }
            }
        }
        rx = state.store.subscribe(filter);
    }
    let (tx, out_rx) = mpsc::channel::<Bytes>(64);
    let interval = shared.bookmark_interval;
    let shared_for_task = shared.clone();
    tokio::spawn(async move {
        let mut rx = rx;
        for ev in initial {
            if tx.send(line(&ev)).await.is_err() {
                return;
            }
        }
        let deadline = timeout.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            let sleep_until = deadline
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(WatchMsg::Event(kind, obj)) => {
                        if tx.send(line(&json!({"type": kind, "object": render(&obj)}))).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    let rv = shared_for_task.lock().store.current_rv();
                    if tx.send(line(&bookmark(rv, false))).await.is_err() {
                        return;
                    }
                }
                _ = tx.closed() => return,
                _ = tokio::time::sleep_until(sleep_until) => return,
            }
        }
    });
    let stream = futures::stream::unfold(out_rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    streaming(StreamBody::new(stream).boxed_unsync())
}

fn streaming(body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}
