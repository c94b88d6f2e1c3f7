//! Progress: a bar on a terminal, one plain line per ExternalSecret otherwise, nothing with
//! `--quiet`. Everything goes to stderr; stdout carries only the command's output.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// How progress is shown.
pub enum Progress {
    /// A bar (stderr is a terminal).
    Bar(ProgressBar),
    /// `[i/n] label: status` lines.
    Lines {
        /// How many jobs there are.
        total: usize,
        /// How many finished.
        done: std::sync::atomic::AtomicUsize,
    },
    /// Nothing (`--quiet`).
    Quiet,
}

impl Progress {
    /// The progress display for `total` jobs.
    pub fn new(total: usize, quiet: bool) -> Self {
        if quiet {
            return Progress::Quiet;
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{elapsed}] {bar:40} {pos}/{len} {msg}")
            {
                bar.set_style(style);
            }
            return Progress::Bar(bar);
        }
        Progress::Lines {
            total,
            done: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// One job finished with `status` (e.g. `synced`, `failed`).
    pub fn finished(&self, label: &str, status: &str) {
        match self {
            Progress::Bar(bar) => {
                bar.set_message(label.to_string());
                bar.inc(1);
            }
            Progress::Lines { total, done } => {
                let i = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                eprintln!("[{i}/{total}] {label}: {status}");
            }
            Progress::Quiet => {}
        }
    }

    /// Removes the bar.
    pub fn done(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
