//! PostgreSQL on a loopback port, in a fresh `initdb` cluster with a password-protected
//! superuser. Runs as the `postgres` system user when the tests run as root (postgres refuses
//! to run as root).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use rand::Rng as _;
use rustix::process::Signal;
use secrecy::{ExposeSecret as _, SecretString};

use super::process::{
    PeerProcess, ProcessSpec, READY_TIMEOUT, RunAs, running_as_root, with_free_port,
};
use super::{PeerError, paths};

const PEER: &str = "postgres";
/// Name of the superuser created by `initdb`.
pub const SUPERUSER: &str = "postgres";

/// Resolved PostgreSQL binaries (symlinks in `<peers>/bin` resolved, so another user can run them).
#[derive(Debug, Clone)]
struct Binaries {
    initdb: PathBuf,
    postgres: PathBuf,
    pg_isready: PathBuf,
    psql: PathBuf,
}

impl Binaries {
    fn find() -> Result<Self, PeerError> {
        let resolve = |name: &str| -> Result<PathBuf, PeerError> {
            let link = paths::peer_binary(name)?;
            std::fs::canonicalize(&link).map_err(|_| PeerError::NotInstalled {
                what: name.to_string(),
                path: link,
            })
        };
        Ok(Self {
            initdb: resolve("initdb")?,
            postgres: resolve("postgres")?,
            pg_isready: resolve("pg_isready")?,
            psql: resolve("psql")?,
        })
    }
}

/// A running PostgreSQL server, stopped (fast shutdown, then SIGKILL) on drop.
#[derive(Debug)]
pub struct Postgres {
    process: PeerProcess,
    port: u16,
    password: SecretString,
    binaries: Binaries,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// Creates a cluster in a temp dir and starts a server on a free loopback port.
    pub async fn start() -> Result<Self, PeerError> {
        let binaries = Binaries::find()?;
        let run_as = if running_as_root() {
            Some(
                RunAs::lookup("postgres").ok_or_else(|| PeerError::NotInstalled {
                    what: "system user postgres (postgres refuses to run as root)".into(),
                    path: PathBuf::from("/etc/passwd"),
                })?,
            )
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("secretsync-postgres-")
            .tempdir()
            .map_err(PeerError::io(PEER, "creating a temp dir"))?;
        // The server user must be able to traverse the (root-owned) instance dir.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
            .map_err(PeerError::io(PEER, "making the temp dir traversable"))?;
        let cluster = dir.path().join("cluster");
        let socket_dir = dir.path().join("socket");
        for owned in [&cluster, &socket_dir] {
            std::fs::create_dir(owned)
                .map_err(PeerError::io(PEER, format!("creating {}", owned.display())))?;
            give_to(owned, run_as)?;
        }
        let password: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        let password = SecretString::from(password);
        let data_dir = cluster.join("data");
        init_cluster(&binaries, run_as, &cluster, &data_dir, &password).await?;

        let postgres = with_free_port(PEER, |port| {
            let binaries = binaries.clone();
            let password = password.clone();
            let spec = ProcessSpec {
                peer: PEER,
                program: binaries.postgres.clone(),
                args: [
                    "-D",
                    &data_dir.display().to_string(),
                    "-p",
                    &port.to_string(),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    &socket_dir.display().to_string(),
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "shared_buffers=16MB",
                    "-c",
                    "max_connections=50",
                ]
                .into_iter()
                .map(Into::into)
                .collect(),
                envs: Vec::new(),
                dir: cluster.clone(),
                log: dir.path().join("postgres.log"),
                run_as,
                // SIGINT = fast shutdown: disconnect clients, stop cleanly.
                stop_signal: Signal::INT,
                redact: vec![password.expose_secret().to_string()],
            };
            async move {
                let mut process = PeerProcess::spawn(spec)?;
                let pg_isready = binaries.pg_isready.clone();
                process
                    .wait_ready(READY_TIMEOUT, || {
                        let check = tokio::process::Command::new(&pg_isready)
                            .args(["-q", "-h", "127.0.0.1", "-t", "1", "-p", &port.to_string()])
                            .status();
                        async move {
                            match check.await {
                                Ok(status) if status.success() => Ok(()),
                                Ok(status) => Err(format!("pg_isready: {status}")),
                                Err(err) => Err(format!("pg_isready: {err}")),
                            }
                        }
                    })
                    .await?;
                Ok((process, port, binaries, password))
            }
        })
        .await
        .map(|(process, port, binaries, password)| Self {
            process,
            port,
            password,
            binaries,
            _dir: dir,
        })?;
        // A query proves the password works, not only that the port answers.
        postgres.query("postgres", "SELECT 1").await?;
        Ok(postgres)
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Host to connect to (`127.0.0.1`).
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The superuser's name ([`SUPERUSER`]).
    pub fn user(&self) -> &'static str {
        SUPERUSER
    }

    /// The superuser's password.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres`.
    pub fn connection_url(&self) -> SecretString {
        self.url_for("postgres")
    }

    /// Connection URL for database `database` as the superuser.
    pub fn url_for(&self, database: &str) -> SecretString {
        SecretString::from(format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password.expose_secret(),
            self.port
        ))
    }

    /// PID of the postmaster.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// Creates database `name` (letters, digits and `_` only).
    pub async fn create_database(&self, name: &str) -> Result<(), PeerError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(PeerError::Request {
                peer: PEER,
                request: "create_database".into(),
                detail: format!("database name {name:?} must be non-empty letters, digits or _"),
            });
        }
        self.query("postgres", &format!("CREATE DATABASE \"{name}\""))
            .await
            .map(drop)
    }

    /// Runs `sql` in `database` with psql as the superuser; returns unaligned, tuples-only
    /// output (`|` between columns, one row per line), trimmed.
    pub async fn query(&self, database: &str, sql: &str) -> Result<String, PeerError> {
        self.query_as(database, SUPERUSER, self.password.expose_secret(), sql)
            .await
    }

    /// Runs `sql` in `database` as `user` logging in with `password` (e.g. credentials a
    /// secrets engine issued); output as for [`Postgres::query`].
    pub async fn query_as(
        &self,
        database: &str,
        user: &str,
        password: &str,
        sql: &str,
    ) -> Result<String, PeerError> {
        let output = tokio::process::Command::new(&self.binaries.psql)
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                user,
                "-d",
                database,
                "-c",
                sql,
            ])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(PeerError::io(PEER, "running psql"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        } else {
            let mut stderr = String::from_utf8_lossy(&output.stderr)
                .trim()
                .replace(self.password.expose_secret(), "[redacted]");
            if !password.is_empty() {
                stderr = stderr.replace(password, "[redacted]");
            }
            Err(PeerError::Command {
                peer: PEER,
                command: format!("psql -d {database}"),
                status: output.status.to_string(),
                stderr,
            })
        }
    }
}

fn give_to(path: &Path, run_as: Option<RunAs>) -> Result<(), PeerError> {
    if let Some(user) = run_as {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
            .map_err(PeerError::io(PEER, format!("chown {}", path.display())))?;
    }
    Ok(())
}

async fn init_cluster(
    binaries: &Binaries,
    run_as: Option<RunAs>,
    cluster: &Path,
    data_dir: &Path,
    password: &SecretString,
) -> Result<(), PeerError> {
    let password_file = cluster.join("superuser-password");
    std::fs::write(&password_file, password.expose_secret())
        .map_err(PeerError::io(PEER, "writing the password file"))?;
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600))
        .map_err(PeerError::io(PEER, "protecting the password file"))?;
    give_to(&password_file, run_as)?;
    let mut command = match run_as {
        Some(user) => {
            let mut command = tokio::process::Command::new(paths::setpriv()?);
            command
                .arg(format!("--reuid={}", user.uid))
                .arg(format!("--regid={}", user.gid))
                .arg("--clear-groups")
                .arg("--")
                .arg(&binaries.initdb);
            command
        }
        None => tokio::process::Command::new(&binaries.initdb),
    };
    command
        .arg("-D")
        .arg(data_dir)
        .args([
            "-U",
            SUPERUSER,
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .arg(format!("--pwfile={}", password_file.display()))
        .current_dir(cluster)
        .stdin(std::process::Stdio::null());
    let output = command
        .output()
        .await
        .map_err(PeerError::io(PEER, "running initdb"))?;
    let _ = std::fs::remove_file(&password_file);
    if output.status.success() {
        Ok(())
    } else {
        Err(PeerError::Command {
            peer: PEER,
            command: format!("initdb -D {}", data_dir.display()),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}
