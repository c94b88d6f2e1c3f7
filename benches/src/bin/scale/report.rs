//! The report: machine and commit, the markdown table with ESO's published figures beside
//! ours, and the rewrite of this run's block in docs/benchmarks.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::figures::{CallFigures, Report};

/// Line before which new run blocks are inserted in docs/benchmarks.md.
pub const RUNS_ANCHOR: &str = "<!-- scale:runs -->";

/// CPU, cores, memory, kernel and load average of this machine.
pub fn machine() -> BTreeMap<String, String> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_default();
    let mem_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load: Vec<String> = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .map(str::to_string)
        .collect();
    BTreeMap::from([
        ("cpu".into(), cpu),
        ("cores".into(), cores.to_string()),
        (
            "memory_gib".into(),
            format!("{:.0}", mem_kib as f64 / 1024.0 / 1024.0),
        ),
        (
            "kernel".into(),
            format!("Linux {}", read("/proc/sys/kernel/osrelease").trim()),
        ),
        ("load_average_before".into(), load.join(" ")),
    ])
}

/// The short commit of `repo`, `-dirty` when tracked files changed.
pub fn commit(repo: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

fn call(calls: &CallFigures, backend: &str, name: &str) -> f64 {
    calls
        .get(backend)
        .and_then(|c| c.get(name))
        .copied()
        .unwrap_or(0.0)
}

fn calls_matching(calls: &CallFigures, backend: &str, pred: impl Fn(&str) -> bool) -> f64 {
    calls
        .get(backend)
        .map(|c| crate::stats::sum(c.iter().filter(|(k, _)| pred(k)).map(|(_, v)| v)))
        .unwrap_or(0.0)
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.0}"))
}

/// The markdown block of one run.
pub fn markdown(r: &Report) -> String {
    let run = &r.run;
    let (fs, wave, rf, drift) = (
        &r.first_sync,
        &r.new_during_wave,
        &r.refresh,
        &r.drift_repair,
    );
    let keys = |p: &str| run.keys_per_provider.get(p).copied().unwrap_or(0);
    let machine = |k: &str| run.machine.get(k).cloned().unwrap_or_default();
    let cyc = &rf.provider_calls_per_cycle;
    let vault_logins = calls_matching(cyc, "vault", |k| k.ends_with("/login"));
    let aws_sts = calls_matching(cyc, "aws", |k| k.starts_with("AssumeRole"));
    let azure_tokens = calls_matching(cyc, "azure", |k| k.starts_with("token "));
    let flags = if run.operator_args.is_empty() {
        "default flags".to_string()
    } else {
        format!("`{}`", run.operator_args.join(" "))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {}: N={}, K={}, M={} ({})\n",
        run.label, run.n, run.k, run.m, run.cluster
    );
    let _ = writeln!(out, "Command: `{}`  ", run.command);
    let _ = writeln!(
        out,
        "Commit `{}`, {} UTC. Machine: {}, {} cores, {} GiB, {}; load average {} before the run.  ",
        run.commit,
        run.date,
        machine("cpu"),
        machine("cores"),
        machine("memory_gib"),
        machine("kernel"),
        machine("load_average_before")
    );
    let _ = writeln!(
        out,
        "Operator `{}` with {flags}. refreshInterval {} s stands in for 1 h (a \"minute\" is {:.1} s); {} namespaces; \
         remote keys: Vault {}, AWS {}, Azure {}; M = {} Secrets of {} KiB.\n",
        run.operator,
        run.refresh_interval_s,
        rf.spread_bucket_s,
        run.namespaces,
        keys("vault"),
        keys("aws"),
        keys("azure"),
        run.m,
        run.unrelated_kib
    );
    let rows: Vec<[String; 4]> = vec![
        [
            "first sync (all N exist before the operator starts)".into(),
            format!(
                "**{:.1} ExternalSecrets/s** ({} in {:.1} s; first Ready after {:.1} s)",
                fs.per_second, run.n, fs.seconds, fs.first_ready_s
            ),
            "≥ 300/s (double), ≥ 200/s (real server), default flags".into(),
            "0.8/s default; ~11/s tuned (#2878)".into(),
        ],
        [
            "new ExternalSecret during a refresh wave: time to Ready p50 / p99 / max".into(),
            format!(
                "{} / **{}** / {} ms ({} created while {:.1} refreshes/s ran)",
                opt_ms(wave.time_to_ready.p50_ms),
                opt_ms(wave.time_to_ready.p99_ms),
                opt_ms(wave.time_to_ready.max_ms),
                wave.time_to_ready.count,
                wave.refreshes_per_second_meanwhile
            ),
            "p99 ≤ 2 s".into(),
            "5–15 min (#4180); 24–314 s at 2–57 CI jobs (camunda-platform-helm #7271)".into(),
        ],
        [
            "Kubernetes API requests per first sync (of which LIST)".into(),
            format!(
                "**{:.2}** ({:.2})",
                fs.requests_per_object_total, fs.lists_per_object
            ),
            "≤ 3 (0)".into(),
            "not published".into(),
        ],
        [
            "Kubernetes API requests per unchanged refresh (of which LIST)".into(),
            format!(
                "**{:.2}** ({:.2})",
                rf.requests_per_refresh_total, rf.lists_per_refresh
            ),
            "≤ 1 (0)".into(),
            "not published".into(),
        ],
        [
            "operator RSS: peak / steady (median over the cycles)".into(),
            format!("{:.1} / **{:.1} MiB**", rf.peak_rss_mib, rf.steady_rss_mib),
            "steady ≤ 64 MiB at N=10,000, independent of M".into(),
            "220 MiB at ~1,800 (#1336); 300 MB at 2,500 (#2878)".into(),
        ],
        [
            "operator CPU per refresh cycle (first sync in total)".into(),
            format!(
                "{:.2} s ({:.2} s)",
                rf.cpu_seconds_per_cycle, fs.cpu_seconds
            ),
            "—".into(),
            "~100 mCPU at ~1,800 @ 15 s (#1336): ≈1.5 CPU-s per cycle (derived)".into(),
        ],
        [
            "Vault per cycle: KV reads / logins".into(),
            format!(
                "{:.0} / {:.0}",
                call(cyc, "vault", "read secret/data/*"),
                vault_logins
            ),
            format!("≤ {} / 0", keys("vault")),
            "one read per ExternalSecret and refresh (no cross-object dedup)".into(),
        ],
        [
            "AWS per cycle: BatchGetSecretValue / GetSecretValue / STS".into(),
            format!(
                "{:.0} / {:.0} / {:.0}",
                call(cyc, "aws", "BatchGetSecretValue"),
                call(cyc, "aws", "GetSecretValue"),
                aws_sts
            ),
            format!("≤ {} / — / 0", keys("aws").div_ceil(20)),
            "one GetSecretValue per reference".into(),
        ],
        [
            "Azure per cycle: GetSecret / token requests".into(),
            format!(
                "{:.0} / {:.0}",
                call(cyc, "azure", "GetSecret"),
                azure_tokens
            ),
            format!("≤ {} / ≤ 1", keys("azure")),
            "one read per reference".into(),
        ],
        [
            "drift repair (edit of a target Secret's data) p50 / p99 / max".into(),
            format!(
                "{} / **{}** / {} ms ({} edits)",
                opt_ms(drift.p50_ms),
                opt_ms(drift.p99_ms),
                opt_ms(drift.max_ms),
                drift.count
            ),
            "p99 ≤ 1 s".into(),
            "Owner: put back on the next reconcile (docs; no figure)".into(),
        ],
        [
            "refresh spread: busiest \"minute\" / average".into(),
            format!(
                "**{}** (busiest {}, average {:.1}); {:.0} refreshes per cycle",
                rf.spread.map_or_else(|| "—".into(), |s| format!("{s:.2}×")),
                rf.spread_busiest,
                rf.spread_average,
                rf.refreshes_per_cycle
            ),
            "≤ 2×".into(),
            "no jitter: refreshes stay phase-aligned (#2837)".into(),
        ],
    ];
    let _ = writeln!(out, "| figure | this run | #20 target | ESO (published) |");
    let _ = writeln!(out, "|---|---|---|---|");
    for [a, b, c, d] in rows {
        let _ = writeln!(out, "| {a} | {b} | {c} | {d} |");
    }
    let _ = writeln!(
        out,
        "\nKubernetes API requests by kind (on the double: the operator's only; on a real server: \
         `apiserver_request_total`, including the harness's watches):\n"
    );
    let _ = writeln!(out, "| request | per first sync | per refresh |");
    let _ = writeln!(out, "|---|---:|---:|");
    let kinds: std::collections::BTreeSet<&String> = fs
        .requests_per_object
        .keys()
        .chain(rf.requests_per_refresh.keys())
        .collect();
    for kind in kinds {
        let v = |m: &BTreeMap<String, f64>| m.get(kind).map_or("0".into(), |v| format!("{v:.3}"));
        let _ = writeln!(
            out,
            "| `{kind}` | {} | {} |",
            v(&fs.requests_per_object),
            v(&rf.requests_per_refresh)
        );
    }
    let _ = writeln!(
        out,
        "\nProvider calls during the first sync: {}.",
        describe_calls(&fs.provider_calls)
    );
    out
}

fn describe_calls(calls: &CallFigures) -> String {
    calls
        .iter()
        .map(|(backend, c)| {
            let inner: Vec<String> = c.iter().map(|(k, v)| format!("{k} {v:.0}")).collect();
            format!("{backend}: {}", inner.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where `marker` stands alone on a line of `doc` (a mention inside prose does not count).
fn find_marker(doc: &str, marker: &str) -> Option<usize> {
    doc.match_indices(marker).map(|(i, _)| i).find(|&i| {
        let rest = &doc[i + marker.len()..];
        (i == 0 || doc[..i].ends_with('\n')) && (rest.is_empty() || rest.starts_with('\n'))
    })
}

/// `doc` with the block of `label` replaced by `block` (or inserted before [`RUNS_ANCHOR`],
/// or appended when the anchor is missing). Markers count only on a line of their own.
pub fn rewrite_block(doc: &str, label: &str, block: &str) -> String {
    let begin = format!("<!-- scale:{label}:begin -->");
    let end = format!("<!-- scale:{label}:end -->");
    let framed = format!("{begin}\n{}\n{end}", block.trim_end());
    if let (Some(b), Some(e)) = (find_marker(doc, &begin), find_marker(doc, &end))
        && b < e
    {
        return format!("{}{framed}{}", &doc[..b], &doc[e + end.len()..]);
    }
    match find_marker(doc, RUNS_ANCHOR) {
        Some(a) => format!("{}{framed}\n\n{}", &doc[..a], &doc[a..]),
        None => format!("{}\n\n{framed}\n", doc.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_replaced_inserted_before_the_anchor_or_appended() {
        let doc = format!("# B\n\nintro\n\n{RUNS_ANCHOR}\n");
        let once = rewrite_block(&doc, "a", "first\n");
        assert_eq!(
            once,
            format!(
                "# B\n\nintro\n\n<!-- scale:a:begin -->\nfirst\n<!-- scale:a:end -->\n\n{RUNS_ANCHOR}\n"
            )
        );
        let twice = rewrite_block(&once, "a", "second");
        assert!(
            twice.contains("second") && !twice.contains("first"),
            "{twice}"
        );
        let other = rewrite_block(&twice, "b", "third");
        let (a, b) = (other.find("second"), other.find("third"));
        assert!(a < b && b < other.find(RUNS_ANCHOR), "{other}");
        assert_eq!(
            rewrite_block("# B\n", "a", "x"),
            "# B\n\n<!-- scale:a:begin -->\nx\n<!-- scale:a:end -->\n"
        );
    }

    #[test]
    fn an_anchor_mentioned_in_prose_is_not_the_anchor() {
        let doc = format!("# B\n\nblocks go before `{RUNS_ANCHOR}` here.\n\n{RUNS_ANCHOR}\n");
        let out = rewrite_block(&doc, "a", "x");
        assert_eq!(
            out,
            format!(
                "# B\n\nblocks go before `{RUNS_ANCHOR}` here.\n\n<!-- scale:a:begin -->\nx\n<!-- scale:a:end -->\n\n{RUNS_ANCHOR}\n"
            )
        );
    }
}
