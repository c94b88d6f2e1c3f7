//! Captured tracing output of a test binary, for canary tests (no secret value in logs).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Installs (once per process) a `trace`-level subscriber writing into a shared buffer and
/// returns the buffer.
pub fn capture() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init();
        buffer
    })
    .clone()
}

/// Everything captured so far, as text.
pub fn captured_text() -> String {
    capture()
        .lock()
        .map(|l| String::from_utf8_lossy(&l).to_string())
        .unwrap_or_default()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
