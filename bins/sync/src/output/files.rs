//! `--output files=DIR`: one file per key, `DIR/<namespace>/<secret>/<key>`, files mode 0600
//! in directories mode 0700. `DIR` must not exist yet or be empty; files are created, never
//! overwritten (`O_EXCL`: a symbolic link planted at a key's path is refused too).

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

use std::path::{Path, PathBuf};

use secretsync_engine::DesiredSecret;

/// A single path component that cannot leave its directory.
fn component<'a>(what: &str, name: &'a str) -> Result<&'a str, String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(format!("{what} {name:?} cannot be used as a file name"));
    }
    Ok(name)
}

fn private_dir(path: &Path) -> Result<(), String> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| format!("creating {}: {e}", path.display()))
}

/// Prepares `dir`: created 0700, or an existing empty directory (not a symbolic link) set to 0700.
fn prepare(dir: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => private_dir(dir),
        Err(e) => Err(format!("{}: {e}", dir.display())),
        Ok(meta) if !meta.is_dir() => Err(format!(
            "{}: exists and is not a directory (or is a symbolic link)",
            dir.display()
        )),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            if entries.next().is_some() {
                return Err(format!(
                    "{}: exists and is not empty; files are never overwritten",
                    dir.display()
                ));
            }
            private_dir(dir)
        }
    }
}

/// Writes every key of every Secret; returns how many files were written.
pub fn write_files(dir: &Path, secrets: &[DesiredSecret]) -> Result<usize, String> {
    prepare(dir)?;
    let mut written = 0;
    for s in secrets {
        let secret_dir: PathBuf = dir
            .join(component("namespace", &s.namespace)?)
            .join(component("Secret name", &s.name)?);
        private_dir(&secret_dir)?;
        for (key, value) in &s.data {
            let what = format!("Secret {}/{} key", s.namespace, s.name);
            let path = secret_dir.join(component(&what, key)?);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("creating {}: {e}", path.display()))?;
            file.write_all(value.expose())
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_names_are_checked() {
        for bad in ["", ".", "..", "a/b", "a\0"] {
            assert!(component("key", bad).is_err(), "{bad:?}");
        }
        assert_eq!(component("key", ".hidden"), Ok(".hidden"));
    }
}
