//! Start-up, leader gating, controllers and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use kube::Api;
use kube::api::ListParams;
use secretsync_engine::{Engine, EngineConfig};
use secretsync_model::ProviderFactory;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_providers::{AllProviders, AmbientIdentity, ProviderOptions};
use tokio::sync::watch;

use crate::cli::Settings;
use crate::metrics::MetricsSource;
use crate::server::{self, Health};
use secretsync_kube::leader::{LeaderElector, Role};

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
///
/// Shutdown on SIGTERM/SIGINT, within `--shutdown-timeout`: `/readyz` turns unready, the
/// controllers stop taking work and the reconciles in flight finish (at most three quarters of
/// the budget), then the providers are closed (Vault tokens revoked) and the Lease released.
/// After a lost Lease the controllers are dropped at once: another replica may already lead.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let client = crate::client::build(settings.kube_api_qps, settings.kube_api_burst).await?;
    // Every provider this build links (fake, Azure Key Vault, ...), configured from the
    // process environment (workload identity token file, managed identity endpoint).
    let options = settings.providers.apply(
        ProviderOptions::from_env().context("reading provider settings from the environment")?,
    );
    if options.ambient_identity == AmbientIdentity::AnyStore {
        tracing::warn!(
            "--allow-operator-identity-in-secret-stores: every SecretStore may use the operator's own identity"
        );
    }
    let providers = AllProviders::new(options);
    let generators = providers.generators();
    let factory: Arc<dyn ProviderFactory> = Arc::new(providers);
    let controller_metrics = secretsync_kube::Metrics::default();
    let engine = Arc::new(
        Engine::new(factory.clone(), EngineConfig::default())
            .with_generators(generators)
            .with_observer(Arc::new(controller_metrics.clone())),
    );
    let (signal_tx, mut signal) = watch::channel(false);
    watch_signals(signal_tx)?;
    // Tells the elector to release the Lease: only after the in-flight reconciles finished.
    let (release_tx, release) = watch::channel(false);

    let (role, elector) = match settings.leader.clone() {
        Some(leader) => {
            tracing::info!(lease = %leader.lease_name, namespace = %leader.namespace, identity = %leader.identity, "leader election on");
            let (tx, rx) = watch::channel(Role::Starting);
            let elector = LeaderElector::new(client.clone(), leader);
            (Some(rx), Some(tokio::spawn(elector.run(tx, release))))
        }
        None => (None, None),
    };
    let lifecycle = secretsync_kube::Lifecycle::default();
    let health = Arc::new(Health {
        controllers: lifecycle.ready.clone(),
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
    secretsync_kube::allocator::spawn_periodic_release(settings.memory_release_interval);
    if let Some(addr) = settings.refresh_addr {
        crate::refresh::start(addr, client.clone()).await?;
    }

    let outcome = async {
        if let Some(mut role) = role.clone() {
            tokio::select! {
                r = role.wait_for(|r| matches!(r, Role::Leading | Role::Lost)) => {
                    if r.map(|r| *r == Role::Lost).unwrap_or(true) {
                        return Ok((Stop::LostLease, None));
                    }
                }
                () = secretsync_kube::leader::stopped(&mut signal) => return Ok((Stop::Signal, None)),
            }
        }
        check_api(&client, settings.controllers.namespace.as_deref()).await?;
        tracing::info!(namespace = ?settings.controllers.namespace, class = ?settings.controllers.controller_class, flood_gate = settings.controllers.flood_gate, "starting controllers");
        let mut controllers = Box::pin(secretsync_kube::run_with(
            client.clone(),
            settings.controllers.clone(),
            engine.clone(),
            factory.clone(),
            controller_metrics.clone(),
            lifecycle.clone(),
        ));
        let lost = async {
            match role.clone() {
                Some(mut r) => {
                    let _ = r.wait_for(|r| *r == Role::Lost).await;
                }
                None => std::future::pending().await,
            }
        };
        let stop = tokio::select! {
            r = &mut controllers => {
                r.context("starting the controllers")?;
                return Err(anyhow!("the controllers stopped unexpectedly"));
            }
            () = secretsync_kube::leader::stopped(&mut signal) => Stop::Signal,
            () = lost => Stop::LostLease,
        };
        Ok((stop, Some(controllers)))
    }
    .await;

    // Not ready any more; no new reconcile starts.
    let started = Instant::now();
    health.shutting_down.store(true, Ordering::Relaxed);
    lifecycle.shutdown.cancel();
    let stop = match outcome {
        Ok((stop, controllers)) => {
            if let (Stop::Signal, Some(controllers)) = (&stop, controllers) {
                let drain = settings.shutdown_timeout.mul_f64(0.75);
                match tokio::time::timeout(drain, controllers).await {
                    Ok(Ok(())) => tracing::info!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "in-flight reconciles finished"
                    ),
                    Ok(Err(e)) => tracing::warn!(error = %e, "controllers failed while stopping"),
                    Err(_) => tracing::warn!(
                        ?drain,
                        "reconciles still running after the drain budget; abandoning them"
                    ),
                }
            }
            Ok(stop)
        }
        Err(e) => Err(e),
    };
    release_tx.send_replace(true);
    let cleanup = async {
        engine.close().await;
        tracing::info!("providers closed");
        if let Some(elector) = elector {
            let _ = elector.await;
        }
    };
    let remaining = settings.shutdown_timeout.saturating_sub(started.elapsed());
    if tokio::time::timeout(remaining, cleanup).await.is_err() {
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
