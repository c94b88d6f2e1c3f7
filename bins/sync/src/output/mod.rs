//! `render --output`: the rendered Secrets as Kubernetes manifests (`yaml`, `json`), as shell
//! `export` lines (`env`), as a dotenv file (`dotenv`), or as one file per key (`files=DIR`).

mod files;
mod manifest;
mod shell;

use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

use secretsync_engine::DesiredSecret;

pub use files::write_files;
pub use manifest::{to_json_list, to_secret, to_yaml_stream};
pub use shell::{dotenv, env_exports, variable_name};

/// An output format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// `v1/Secret` manifests, `---` separated.
    Yaml,
    /// A `v1/List` of Secrets.
    Json,
    /// `export NAME='value'` lines for `eval`.
    Env,
    /// `NAME='value'` lines (python-dotenv / docker compose syntax).
    Dotenv,
    /// One file per key under `DIR/<namespace>/<secret>/`.
    Files(PathBuf),
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "yaml" => Ok(Format::Yaml),
            "json" => Ok(Format::Json),
            "env" => Ok(Format::Env),
            "dotenv" => Ok(Format::Dotenv),
            other => match other.strip_prefix("files=") {
                Some(dir) if !dir.is_empty() => Ok(Format::Files(PathBuf::from(dir))),
                _ => Err(format!(
                    "--output {other:?}: expected yaml, json, env, dotenv or files=<dir>"
                )),
            },
        }
    }
}

/// Writes `secrets` in `format` (to `out` except for `files`). Errors name the Secret and the
/// key that cannot be written in this format, never a value.
pub fn write(
    format: &Format,
    secrets: &[DesiredSecret],
    out: &mut dyn Write,
) -> Result<(), String> {
    let bytes = match format {
        Format::Yaml => to_yaml_stream(secrets)?.into_bytes(),
        Format::Json => to_json_list(secrets)?.into_bytes(),
        Format::Env => env_exports(secrets)?,
        Format::Dotenv => dotenv(secrets)?,
        Format::Files(dir) => {
            let written = write_files(dir, secrets)?;
            tracing::info!(files = written, dir = %dir.display(), "wrote Secret keys as files");
            return Ok(());
        }
    };
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing the output: {e}"))
}
