//! Where the peers' binaries live: `$SECRETSYNC_PEERS_DIR`, else `<workspace root>/.peers`.

use std::path::{Path, PathBuf};

use super::PeerError;

/// Environment variable that overrides the peers directory.
pub const PEERS_DIR_ENV: &str = "SECRETSYNC_PEERS_DIR";
/// Environment variable that overrides the Python interpreter used for moto.
pub const PYTHON_ENV: &str = "SECRETSYNC_PYTHON";

/// The workspace root: the nearest ancestor of this crate holding `Cargo.lock` or `.git`.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").exists() || dir.join(".git").exists())
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

/// The peers directory (`$SECRETSYNC_PEERS_DIR`, else `<workspace root>/.peers`).
pub fn peers_dir() -> PathBuf {
    match std::env::var_os(PEERS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join(".peers"),
    }
}

/// Directory where running peers record their PID files (`<peers>/run`).
pub fn run_dir() -> PathBuf {
    peers_dir().join("run")
}

/// Path of an installed peer binary (`<peers>/bin/NAME`), or a "run scripts/peers install" error.
pub fn peer_binary(name: &str) -> Result<PathBuf, PeerError> {
    let path = peers_dir().join("bin").join(name);
    if is_executable(&path) {
        Ok(path)
    } else {
        Err(PeerError::NotInstalled {
            what: name.to_string(),
            path,
        })
    }
}

/// The Python interpreter: `$SECRETSYNC_PYTHON`, else `<peers>/venv/bin/python`.
pub fn python() -> Result<PathBuf, PeerError> {
    let path = match std::env::var_os(PYTHON_ENV) {
        Some(python) if !python.is_empty() => PathBuf::from(python),
        _ => peers_dir().join("venv").join("bin").join("python"),
    };
    if is_executable(&path) {
        Ok(path)
    } else {
        Err(PeerError::NotInstalled {
            what: "python venv".to_string(),
            path,
        })
    }
}

/// `setpriv` (util-linux), used to tie each peer's life to the test process.
pub(crate) fn setpriv() -> Result<PathBuf, PeerError> {
    ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"]
        .iter()
        .map(PathBuf::from)
        .find(|path| is_executable(path))
        .ok_or_else(|| PeerError::NotInstalled {
            what: "setpriv (util-linux)".to_string(),
            path: PathBuf::from("/usr/bin/setpriv"),
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_lock_file() {
        let root = workspace_root();
        assert!(
            root.join("Cargo.lock").exists() || root.join(".git").exists(),
            "{root:?}"
        );
        assert!(Path::new(env!("CARGO_MANIFEST_DIR")).starts_with(&root));
    }

    #[test]
    fn missing_binary_names_the_install_script() {
        let err = peer_binary("no-such-peer-binary").expect_err("must be missing");
        assert!(
            err.to_string().contains("run scripts/peers install"),
            "{err}"
        );
        assert!(err.to_string().contains("no-such-peer-binary"), "{err}");
    }
}
