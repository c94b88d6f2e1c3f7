//! HTTP endpoints: `/metrics` on the metrics address, `/healthz` and `/readyz` on the health
//! address (one listener when both addresses are equal).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::watch;

use crate::metrics::MetricsSource;
use secretsync_kube::leader::Role;

/// What the probes look at.
pub struct Health {
    /// Set by the controllers once every watch completed its first list.
    pub controllers: secretsync_kube::Ready,
    /// Shutdown began: not ready any more.
    pub shutting_down: AtomicBool,
    /// Leader election role; `None` without leader election.
    pub role: Option<watch::Receiver<Role>>,
}

impl Health {
    fn leading(&self) -> bool {
        self.role
            .as_ref()
            .is_none_or(|r| *r.borrow() == Role::Leading)
    }

    /// Ready: not shutting down, and either leading with every controller watch listed, or a
    /// healthy standby.
    pub fn ready(&self) -> bool {
        if self.shutting_down.load(Ordering::Relaxed) {
            return false;
        }
        match self.role.as_ref().map(|r| r.borrow().clone()) {
            None | Some(Role::Leading) => self.controllers.is_ready(),
            Some(Role::Standby) => true,
            Some(Role::Starting | Role::Lost) => false,
        }
    }
}

struct AppState {
    health: Arc<Health>,
    metrics: MetricsSource,
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.health.leading()),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    if state.health.ready() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// Binds the listeners (errors name the address) and serves them in background tasks.
pub async fn start(
    metrics_addr: SocketAddr,
    health_addr: SocketAddr,
    health: Arc<Health>,
    source: MetricsSource,
) -> anyhow::Result<()> {
    let state = Arc::new(AppState {
        health,
        metrics: source,
    });
    let metrics_routes = Router::new().route("/metrics", get(metrics));
    let health_routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let bind = |addr: SocketAddr, what: &'static str| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the {what} address {addr}"))
    };
    if metrics_addr == health_addr {
        let listener = bind(metrics_addr, "metrics/health").await?;
        let app = metrics_routes.merge(health_routes).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
    } else {
        let m = bind(metrics_addr, "metrics").await?;
        let h = bind(health_addr, "health").await?;
        let m_app = metrics_routes.with_state(state.clone());
        let h_app = health_routes.with_state(state);
        tokio::spawn(async move { axum::serve(m, m_app).await });
        tokio::spawn(async move { axum::serve(h, h_app).await });
    }
    tracing::info!(%metrics_addr, %health_addr, "serving /metrics, /healthz and /readyz");
    Ok(())
}
