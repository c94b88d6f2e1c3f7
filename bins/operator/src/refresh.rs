//! The refresh-on-demand endpoint (`--refresh-addr`): `POST
//! /refresh/namespaces/{namespace}/externalsecrets/{name}` with `Authorization: Bearer <token>`.
//! The decisions are `secretsync_kube::on_demand`'s; this is the HTTP wiring.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use jiff::Timestamp;
use secretsync_kube::on_demand::{self, RefreshDenied};
use tokio::sync::Semaphore;

/// Requests handled at once; more are answered 429 (each costs the API server two reviews).
const IN_FLIGHT: usize = 8;

struct RefreshState {
    client: kube::Client,
    slots: Semaphore,
}

async fn refresh(
    State(state): State<Arc<RefreshState>>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let Ok(_slot) = state.slots.try_acquire() else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many refresh requests at once; retry\n".into(),
        );
    };
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let result = match on_demand::parse_bearer(header) {
        Ok(token) => {
            let stamp = Timestamp::now().to_string();
            on_demand::request_refresh(&state.client, token, &namespace, &name, &stamp).await
        }
        Err(denied) => Err(denied),
    };
    match result {
        Ok(accepted) => {
            tracing::info!(%namespace, %name, user = %accepted.user, "refresh requested");
            (
                StatusCode::ACCEPTED,
                format!("refresh of ExternalSecret {namespace}/{name} requested\n"),
            )
        }
        Err(denied) => {
            if matches!(
                denied,
                RefreshDenied::Forbidden { .. } | RefreshDenied::Unavailable(_)
            ) {
                tracing::warn!(%namespace, %name, "refresh request refused: {denied}");
            }
            let status = StatusCode::from_u16(denied.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, format!("{denied}\n"))
        }
    }
}

/// Binds `addr` (errors name it) and serves the endpoint in a background task.
pub async fn start(addr: SocketAddr, client: kube::Client) -> anyhow::Result<()> {
    let state = Arc::new(RefreshState {
        client,
        slots: Semaphore::new(IN_FLIGHT),
    });
    let app = Router::new()
        .route(
            "/refresh/namespaces/{namespace}/externalsecrets/{name}",
            post(refresh),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the refresh address {addr}"))?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    tracing::info!(%addr, "serving refresh on demand");
    Ok(())
}
