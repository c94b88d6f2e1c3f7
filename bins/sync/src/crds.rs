//! `secretsync crds`: print or write the CRDs.

use std::path::Path;

use anyhow::Context;
use secretsync_model::crd;

/// Writes every CRD to `out/<name>.yaml`, or prints them as one YAML stream.
pub fn write(out: Option<&Path>) -> anyhow::Result<()> {
    let crds = crd::all();
    match out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            for c in &crds {
                let path = dir.join(crd::file_name(c));
                std::fs::write(&path, crd::to_yaml(c))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        None => {
            for c in &crds {
                println!("---\n{}", crd::to_yaml(c));
            }
        }
    }
    Ok(())
}
