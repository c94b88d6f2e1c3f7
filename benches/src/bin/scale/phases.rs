//! The measured phases, in order: first sync, new ExternalSecrets during the first refresh
//! wave, steady refresh cycles, drift repair. Each phase counts between two [`Mark`]s.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;

use crate::cluster::{Cluster, RequestMark};
use crate::figures::{CallFigures, FirstSync, Latency, Refresh, Wave, mib};
use crate::observe::Observer;
use crate::operator::Operator;
use crate::peers::{Peers, ProviderCalls};
use crate::stats::{delta, per, round3, spread, sum};
use crate::workload::{Layout, create_all};

/// How long one drift repair may take before the run fails.
const DRIFT_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a phase needs.
pub struct Ctx<'a> {
    /// The cluster.
    pub cluster: &'a Cluster,
    /// The backends.
    pub peers: &'a Peers,
    /// Names and sizes.
    pub layout: &'a Layout,
    /// The operator process.
    pub operator: &'a Operator,
    /// The ExternalSecret watch.
    pub observer: &'a Observer,
    /// Longest wait of any phase.
    pub timeout: Duration,
}

/// Counters at one instant.
pub struct Mark {
    at: Instant,
    requests: RequestMark,
    calls: ProviderCalls,
    cpu: Duration,
}

/// Counters now (CPU time zero without an operator).
pub async fn mark(
    cluster: &Cluster,
    peers: &Peers,
    operator: Option<&Operator>,
) -> anyhow::Result<Mark> {
    let cpu = match operator {
        Some(o) => o.sample()?.cpu,
        None => Duration::ZERO,
    };
    Ok(Mark {
        at: Instant::now(),
        requests: cluster.request_mark().await?,
        calls: peers.calls().await?,
        cpu,
    })
}

impl Ctx<'_> {
    /// Counters now.
    async fn mark(&self) -> anyhow::Result<Mark> {
        mark(self.cluster, self.peers, Some(self.operator)).await
    }

    fn alive(&self) -> impl FnMut() -> anyhow::Result<()> + '_ {
        || self.operator.check_alive()
    }

    /// Requests between two marks.
    fn requests(&self, from: &Mark, to: &Mark) -> anyhow::Result<BTreeMap<String, u64>> {
        self.cluster.operator_requests(&from.requests, &to.requests)
    }
}

/// Provider calls between two marks, divided by `divisor`.
fn calls_between(from: &Mark, to: &Mark, divisor: f64) -> CallFigures {
    to.calls
        .iter()
        .map(|(backend, after)| {
            let empty = BTreeMap::new();
            let before = from.calls.get(backend).unwrap_or(&empty);
            (backend.clone(), per(&delta(before, after), divisor))
        })
        .collect()
}

/// Sum of the LIST kinds.
fn lists(figures: &BTreeMap<String, f64>) -> f64 {
    round3(sum(figures
        .iter()
        .filter(|(k, _)| k.starts_with("LIST "))
        .map(|(_, v)| v)))
}

/// Waits until all N pre-created ExternalSecrets are ready (the operator started at `start`):
/// time, CPU and peak RSS up to then. Requests and provider calls are counted until the first
/// refresh is seen, so the reconciles the first sync's own Secret writes trigger are in (at
/// the price of the few refreshes in flight at that moment). Returns the figures and when all
/// were ready.
pub async fn first_sync(ctx: &Ctx<'_>, start: &Mark) -> anyhow::Result<(FirstSync, Instant)> {
    let n = ctx.layout.n;
    let ready = ctx
        .observer
        .wait(
            "first sync",
            start.at,
            ctx.timeout,
            ctx.alive(),
            |ready, _| ready >= n,
        )
        .await?;
    let sample = ctx.operator.sample()?;
    let refresh = Duration::from_secs(ctx.layout.refresh_secs);
    ctx.observer
        .wait(
            "first refresh",
            ready,
            refresh * 2 + ctx.timeout,
            ctx.alive(),
            |_, refreshes| refreshes >= 1,
        )
        .await?;
    let settled = ctx.mark().await?;
    let seconds = (ctx.observer.last_ready().unwrap_or(ready) - ctx.operator.started)
        .as_secs_f64()
        .max(1e-3);
    let first_ready = ctx
        .observer
        .first_ready()
        .map_or(0.0, |t| (t - ctx.operator.started).as_secs_f64());
    let requests = per(&ctx.requests(start, &settled)?, n as f64);
    Ok((
        FirstSync {
            seconds: round3(seconds),
            per_second: round3(n as f64 / seconds),
            first_ready_s: round3(first_ready),
            requests_per_object_total: round3(sum(requests.values())),
            lists_per_object: lists(&requests),
            requests_per_object: requests,
            provider_calls: calls_between(start, &settled, 1.0),
            cpu_seconds: round3((sample.cpu - start.cpu).as_secs_f64()),
            peak_rss_mib: mib(sample.hwm_kib),
        },
        ready,
    ))
}

/// Right after the first refresh was seen, creates `count` new ExternalSecrets spread over the
/// expected length of the wave and times each to `Ready`.
pub async fn new_during_wave(
    ctx: &Ctx<'_>,
    first_sync: &FirstSync,
    count: usize,
) -> anyhow::Result<Wave> {
    let refresh = Duration::from_secs(ctx.layout.refresh_secs);
    // Refreshes come due over the first sync's length plus the jitter window (10 %).
    let wave = Duration::from_secs_f64(first_sync.seconds)
        .max(refresh / 10)
        .min(refresh / 2);
    let spacing = wave / count.max(1) as u32;
    let mut created = Vec::with_capacity(count);
    let from = Instant::now();
    for j in 0..count {
        let i = ctx.layout.n + j;
        let (ns, name) = ctx.layout.external_secret(i);
        let at = Instant::now();
        create_all(ctx.cluster, vec![ctx.layout.external_secret_manifest(i)]).await?;
        created.push((format!("{ns}/{name}"), at));
        tokio::time::sleep(spacing.saturating_sub(at.elapsed())).await;
    }
    let to = Instant::now();
    let total = ctx.layout.n + count;
    ctx.observer
        .wait(
            "new ExternalSecrets",
            from,
            ctx.timeout,
            ctx.alive(),
            |ready, _| ready >= total,
        )
        .await?;
    let latencies: Vec<Duration> = created
        .iter()
        .filter_map(|(key, at)| {
            ctx.observer
                .ready_at(key)
                .map(|r| r.saturating_duration_since(*at))
        })
        .collect();
    let meanwhile = ctx.observer.refreshes_between(from, to).len();
    Ok(Wave {
        refreshes_per_second_meanwhile: round3(
            meanwhile as f64 / (to - from).as_secs_f64().max(1e-3),
        ),
        time_to_ready: Latency::of(&latencies),
    })
}

/// Waits until the first refresh wave is over, then measures `cycles` refresh intervals.
///
/// The wave is over once there were N refreshes since the first sync and one interval plus
/// the members' settle (`interval / 30`) has passed since every object was last synced (this
/// call comes after the new ExternalSecrets are ready): an object's first refresh is brought
/// forward onto its group's grid, at most that long after its last sync, so from then on each
/// object refreshes once per interval. Counting alone started the window inside the wave's
/// tail (its first "minute" held 448 refreshes at N=10,000, the others at most 283).
pub async fn steady(ctx: &Ctx<'_>, synced: Instant, cycles: u32) -> anyhow::Result<Refresh> {
    let refresh = Duration::from_secs(ctx.layout.refresh_secs);
    let wave_over = Instant::now() + refresh + refresh / 30;
    let n = ctx.layout.n;
    ctx.observer
        .wait(
            "end of the first refresh wave",
            synced,
            refresh * 2 + ctx.timeout,
            ctx.alive(),
            |_, refreshes| refreshes >= n,
        )
        .await?;
    while Instant::now() < wave_over {
        ctx.operator.check_alive()?;
        tokio::time::sleep(
            Duration::from_millis(500).min(wave_over.saturating_duration_since(Instant::now())),
        )
        .await;
    }
    let start = ctx.mark().await?;
    let window = refresh * cycles;
    while start.at.elapsed() < window {
        ctx.operator.check_alive()?;
        tokio::time::sleep(
            Duration::from_millis(500).min(window.saturating_sub(start.at.elapsed())),
        )
        .await;
    }
    let end = ctx.mark().await?;
    let events = ctx.observer.refreshes_between(start.at, end.at);
    let refreshes = events.len();
    let requests = per(&ctx.requests(&start, &end)?, refreshes as f64);
    let mut rss: Vec<u64> = ctx
        .operator
        .samples_between(start.at, end.at)
        .iter()
        .map(|s| s.rss_kib)
        .collect();
    rss.sort_unstable();
    let spread = spread(&events, window, refresh / 60);
    Ok(Refresh {
        cycles,
        refreshes_per_cycle: round3(refreshes as f64 / f64::from(cycles)),
        requests_per_refresh_total: round3(sum(requests.values())),
        lists_per_refresh: lists(&requests),
        requests_per_refresh: requests,
        provider_calls_per_cycle: calls_between(&start, &end, f64::from(cycles)),
        cpu_seconds_per_cycle: round3((end.cpu - start.cpu).as_secs_f64() / f64::from(cycles)),
        steady_rss_mib: mib(rss.get(rss.len() / 2).copied().unwrap_or(0)),
        peak_rss_mib: mib(ctx.operator.sample()?.hwm_kib),
        spread: spread.as_ref().and_then(|s| s.ratio()).map(round3),
        spread_bucket_s: round3((refresh / 60).as_secs_f64()),
        spread_busiest: spread.as_ref().map_or(0, |s| s.busiest),
        spread_average: spread.as_ref().map_or(0.0, |s| round3(s.average)),
        spread_counts: spread.map(|s| s.counts).unwrap_or_default(),
    })
}

/// Edits the data of `count` target Secrets, one at a time, and times each repair.
pub async fn drift_repair(ctx: &Ctx<'_>, count: usize) -> anyhow::Result<Latency> {
    let mut latencies = Vec::with_capacity(count);
    for d in 0..count {
        let i = d * ctx.layout.n / count.max(1);
        let (ns, name) = ctx.layout.external_secret(i);
        let expected = ctx.layout.expected_value(i).into_bytes();
        let api: Api<Secret> = Api::namespaced(ctx.cluster.client.clone(), &ns);
        let value = |s: &Secret| {
            s.data
                .as_ref()
                .and_then(|d| d.get("value"))
                .map(|b| b.0.clone())
        };
        // The list's resourceVersion is current; the object's may be older than the server's
        // watch history.
        let fields = format!("metadata.name={name}");
        let list = api
            .list(&ListParams::default().fields(&fields))
            .await
            .with_context(|| format!("listing {ns}/{name}"))?;
        anyhow::ensure!(
            list.items.first().and_then(value).as_ref() == Some(&expected),
            "{ns}/{name} does not hold the remote value before the edit"
        );
        let version = list.metadata.resource_version.clone().unwrap_or_default();
        let mut events = api
            .watch(&WatchParams::default().fields(&fields), &version)
            .await?
            .boxed();
        let edited = Instant::now();
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"value": "dGFtcGVyZWQ="}})),
        )
        .await?;
        let repaired = tokio::time::timeout(DRIFT_TIMEOUT, async {
            while let Some(event) = events.next().await {
                match event? {
                    WatchEvent::Modified(s) | WatchEvent::Added(s)
                        if value(&s).as_ref() == Some(&expected) =>
                    {
                        return Ok::<_, anyhow::Error>(Instant::now());
                    }
                    WatchEvent::Error(e) => anyhow::bail!("watch of {ns}/{name}: {e:?}"),
                    _ => {}
                }
            }
            anyhow::bail!("the watch of {ns}/{name} ended")
        })
        .await
        .with_context(|| format!("{ns}/{name} not repaired within {DRIFT_TIMEOUT:?}"))??;
        latencies.push(repaired - edited);
    }
    Ok(Latency::of(&latencies))
}
