//! Start-up, leader gating, controllers and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context as _, anyhow};
use kube::Api;
use kube::api::ListParams;
use secretsync_engine::{Engine, EngineConfig};
use secretsync_model::ProviderFactory;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_providers::{AllProviders, ProviderOptions};
use tokio::sync::watch;

use crate::cli::Settings;
use crate::leader::{LeaderElector, Role};
use crate::metrics::MetricsSource;
use crate::server::{self, Health};

/// Why the controllers stopped.
enum Stop {
    Signal,
    LostLease,
}

/// Turns SIGTERM / SIGINT into `shutdown = true`.
fn watch_signals(shutdown: watch::Sender<bool>) -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, shutting down"),
        }
        shutdown.send_replace(true);
    });
    Ok(())
}

/// Checks that the API server answers and the ExternalSecret CRD is installed.
async fn check_api(client: &kube::Client, namespace: Option<&str>) -> anyhow::Result<()> {
    let api: Api<ExternalSecret> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    api.list_metadata(&ListParams::default().limit(1))
        .await
        .context("listing ExternalSecrets (is the external-secrets.io CRD installed and the RBAC applied?)")?;
    Ok(())
}

/// Runs the operator until a signal (exit 0) or a lost Lease (error).
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let client = crate::client::build(settings.kube_api_qps, settings.kube_api_burst).await?;
    // Every provider this build links (fake, Azure Key Vault, ...), configured from the
    // process environment (workload identity token file, managed identity endpoint).
    let options =
        ProviderOptions::from_env().context("reading provider settings from the environment")?;
    let factory: Arc<dyn ProviderFactory> = Arc::new(AllProviders::new(options));
    let controller_metrics = secretsync_kube::Metrics::default();
    let engine = Arc::new(
        Engine::new(factory.clone(), EngineConfig::default())
            .with_observer(Arc::new(controller_metrics.clone())),
    );
    let (shutdown_tx, mut shutdown) = watch::channel(false);
    watch_signals(shutdown_tx.clone())?;

    let (role, elector) = match settings.leader.clone() {
        Some(leader) => {
            tracing::info!(lease = %leader.lease_name, namespace = %leader.namespace, identity = %leader.identity, "leader election on");
            let (tx, rx) = watch::channel(Role::Starting);
            let elector = LeaderElector::new(client.clone(), leader);
            (
                Some(rx),
                Some(tokio::spawn(elector.run(tx, shutdown.clone()))),
            )
        }
        None => (None, None),
    };
    let health = Arc::new(Health {
        controllers_started: false.into(),
        shutting_down: false.into(),
        role: role.clone(),
    });
    server::start(
        settings.metrics_addr,
        settings.health_addr,
        health.clone(),
        MetricsSource::new(&controller_metrics, engine.clone()),
    )
    .await?;

    let stop = async {
        if let Some(mut role) = role.clone() {
            tokio::select! {
                r = role.wait_for(|r| matches!(r, Role::Leading | Role::Lost)) => {
                    if r.map(|r| *r == Role::Lost).unwrap_or(true) {
                        return Ok(Stop::LostLease);
                    }
                }
                () = crate::leader::stopped(&mut shutdown) => return Ok(Stop::Signal),
            }
        }
        check_api(&client, settings.controllers.namespace.as_deref()).await?;
        health.controllers_started.store(true, Ordering::Relaxed);
        tracing::info!(namespace = ?settings.controllers.namespace, class = ?settings.controllers.controller_class, "starting controllers");
        let controllers = secretsync_kube::run(
            client.clone(),
            settings.controllers.clone(),
            engine.clone(),
            factory.clone(),
            controller_metrics.clone(),
        );
        let lost = async {
            match role.clone() {
                Some(mut r) => {
                    let _ = r.wait_for(|r| *r == Role::Lost).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = controllers => {
                r.context("starting the controllers")?;
                Err(anyhow!("the controllers stopped unexpectedly"))
            }
            () = crate::leader::stopped(&mut shutdown) => Ok(Stop::Signal),
            () = lost => Ok(Stop::LostLease),
        }
    }
    .await;

    // Not ready any more; the controllers future is dropped (in-flight server-side applies are
    // atomic on the API server; the next leader re-syncs anything cut short).
    health.shutting_down.store(true, Ordering::Relaxed);
    shutdown_tx.send_replace(true);
    let cleanup = async {
        engine.close().await;
        if let Some(elector) = elector {
            let _ = elector.await;
        }
    };
    if tokio::time::timeout(settings.shutdown_timeout, cleanup)
        .await
        .is_err()
    {
        tracing::warn!("shutdown timed out before providers were closed and the Lease released");
    }
    match stop? {
        Stop::Signal => {
            tracing::info!("stopped");
            Ok(())
        }
        Stop::LostLease => Err(anyhow!(
            "lost the leader Lease; exiting so a fresh process can campaign again"
        )),
    }
}
