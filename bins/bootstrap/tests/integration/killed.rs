//! Issue #18: "killing `apply` at each step and re-running completes without duplicates or
//! loss", with the real binary and a real kill. Each run of `secretsync-bootstrap apply` is
//! killed (SIGKILL) as soon as it reports its first finished step, so it dies while the next
//! step is in flight, at a different point of the plan each time; the runs go on until one
//! finds nothing to do. The end state is the one a single uninterrupted apply reaches, and
//! neither the output nor the logs of any run hold a value, the setup token or the database
//! password.

use crate::support;

use std::process::Stdio;

use secrecy::ExposeSecret;
use secretsync_testkit::cluster::TEST_KUBECONFIG_ENV;
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_secretsync-bootstrap");

/// How one run ended.
enum Run {
    /// Killed after it reported a finished step.
    Killed,
    /// Exited by itself, with its exit code and standard output.
    Exited(i32, String),
}

/// The files and environment the binary runs with: the world's kubeconfig, bootstrap.yaml, the
/// Azure double's CA (trusted through `SSL_CERT_FILE`), moto's endpoint, the setup token and
/// the database password in the environment.
struct Invocation {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Invocation {
    fn new(world: &World) -> Invocation {
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = match &world.server {
            Some(server) => {
                let file = dir.path().join("kubeconfig");
                server.write_kubeconfig(&file).expect("kubeconfig");
                file.display().to_string()
            }
            // a real cluster: its own kubeconfig
            None => std::env::var(TEST_KUBECONFIG_ENV).expect("the real cluster's kubeconfig"),
        };
        std::fs::write(dir.path().join("bootstrap.yaml"), &world.yaml).expect("bootstrap.yaml");
        std::fs::write(dir.path().join("ca.pem"), world.azure.ca_pem()).expect("CA");
        let path = |f: &str| dir.path().join(f).display().to_string();
        let env = vec![
            ("KUBECONFIG", kubeconfig),
            ("SSL_CERT_FILE", path("ca.pem")),
            (
                "SECRETSYNC_AWS_ENDPOINT_URL",
                world.moto.endpoint().to_string(),
            ),
            (
                "VAULT_TOKEN",
                world.bao.root_token().expose_secret().to_string(),
            ),
            (
                DB_PASSWORD_ENV,
                world.pg.password().expose_secret().to_string(),
            ),
            ("SECRETSYNC_LOG", "info".to_string()),
        ];
        Invocation { dir, env }
    }

    /// Runs `apply`; kills it (SIGKILL) once its log reports a finished step. Appends what it
    /// wrote to `transcript`.
    async fn apply_until_first_step(&self, transcript: &mut String) -> Run {
        let file = self.dir.path().join("bootstrap.yaml");
        let mut child = Command::new(BIN)
            .args(["apply", "-f"])
            .arg(&file)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run secretsync-bootstrap");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut killed = false;
        while let Some(line) = stderr.next_line().await.expect("read stderr") {
            transcript.push_str(&line);
            transcript.push('\n');
            // `INFO secretsync_bootstrap::apply: done step=...` (no colours: not a terminal)
            if !killed && line.contains(" done step=") {
                child.start_kill().expect("SIGKILL");
                killed = true;
            }
        }
        let status = child.wait().await.expect("wait");
        let mut stdout = String::new();
        if let Some(mut out) = child.stdout.take() {
            out.read_to_string(&mut stdout).await.expect("read stdout");
        }
        transcript.push_str(&stdout);
        // A run that finished all its work before the kill landed counts as exited.
        match status.code() {
            None => Run::Killed,
            Some(code) => Run::Exited(code, stdout),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_every_step_and_rerun_completes() {
    let world = World::start().await;
    let total = world.bootstrapper().await.plan().await.expect("plan").len();
    let invocation = Invocation::new(&world);
    let mut transcript = String::new();
    let (mut runs, mut kills) = (0, 0);
    loop {
        runs += 1;
        assert!(
            runs <= total + 2,
            "no progress after {runs} runs:\n{transcript}"
        );
        match invocation.apply_until_first_step(&mut transcript).await {
            Run::Killed => kills += 1,
            Run::Exited(0, stdout) if stdout.trim() == "nothing to do" => break,
            Run::Exited(0, _) => {}
            Run::Exited(code, stdout) => panic!("run {runs} exited {code}: {stdout}\n{transcript}"),
        }
    }
    // Most runs die mid-plan; the last few may finish before the kill lands.
    assert!(
        kills * 2 >= total,
        "{kills} kills for {total} steps:\n{transcript}"
    );
    assert!(
        world
            .bootstrapper()
            .await
            .plan()
            .await
            .expect("plan")
            .is_empty()
    );
    assert_bootstrapped(&world).await;
    for (what, secret) in [
        ("the Azure value", AZURE_VALUE.to_string()),
        ("the AWS value", AWS_VALUE.to_string()),
        (
            "the setup token",
            world.bao.root_token().expose_secret().to_string(),
        ),
        (
            "the database password",
            world.pg.password().expose_secret().to_string(),
        ),
    ] {
        assert!(!transcript.contains(&secret), "{what} in the output");
    }
}
