//! Secrets as environment variables: `env` (`export NAME='value'` for `eval` in a POSIX shell)
//! and `dotenv` (`NAME='value'`, python-dotenv / docker compose syntax).
//!
//! Every key of every rendered Secret becomes one variable; keys are turned into variable
//! names by [`variable_name`], and two keys giving the same name are an error naming both.

use std::collections::BTreeMap;

use secretsync_engine::DesiredSecret;
use secretsync_model::SecretValue;

/// The variable for a Secret key: characters other than ASCII letters, digits and `_` become
/// `_`, and a leading digit gets a `_` in front (`db-password` → `db_password`).
pub fn variable_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// Every key of every Secret by variable name, refusing collisions and values no environment
/// variable can hold (NUL bytes).
fn variables(secrets: &[DesiredSecret]) -> Result<BTreeMap<String, &SecretValue>, String> {
    let mut out: BTreeMap<String, (&SecretValue, String)> = BTreeMap::new();
    for s in secrets {
        for (key, value) in &s.data {
            let origin = format!("Secret {}/{} key {key:?}", s.namespace, s.name);
            if value.expose().contains(&0) {
                return Err(format!(
                    "{origin}: the value contains a NUL byte, which no environment variable can hold (use --output files=<dir>)"
                ));
            }
            let name = variable_name(key);
            if let Some((_, first)) = out.get(&name) {
                return Err(format!(
                    "{origin} and {first} both become variable {name}; render them separately (--selector) or rename a key"
                ));
            }
            out.insert(name, (value, origin));
        }
    }
    Ok(out.into_iter().map(|(k, (v, _))| (k, v)).collect())
}

/// `export NAME='value'` lines. Values are single-quoted (a `'` becomes `'\''`), so the shell
/// expands nothing in them; any byte but NUL survives `eval`.
pub fn env_exports(secrets: &[DesiredSecret]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (name, value) in variables(secrets)? {
        out.extend_from_slice(b"export ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"='");
        for &b in value.expose() {
            if b == b'\'' {
                out.extend_from_slice(b"'\\''");
            } else {
                out.push(b);
            }
        }
        out.extend_from_slice(b"'\n");
    }
    Ok(out)
}

/// `NAME='value'` lines as python-dotenv writes and reads them: single quotes, `\` written as
/// `\\` and `'` as `\'`, newlines kept inside the quotes. Values must be UTF-8 (a dotenv file
/// is text). Load with interpolation off (python-dotenv `interpolate=False`): `${...}` is
/// otherwise expanded, and the format has no escape for it.
pub fn dotenv(secrets: &[DesiredSecret]) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    for s in secrets {
        for (key, value) in &s.data {
            if value.expose_str().is_none() {
                return Err(format!(
                    "Secret {}/{} key {key:?}: the value is not UTF-8 text, which a dotenv file cannot hold (use --output files=<dir>)",
                    s.namespace, s.name
                ));
            }
        }
    }
    for (name, value) in variables(secrets)? {
        let text = value.expose_str().unwrap_or_default();
        out.push_str(&name);
        out.push_str("='");
        for c in text.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c => out.push(c),
            }
        }
        out.push_str("'\n");
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, data: &[(&str, &[u8])]) -> DesiredSecret {
        DesiredSecret {
            name: name.into(),
            namespace: "ns".into(),
            type_: "Opaque".into(),
            data: data
                .iter()
                .map(|(k, v)| ((*k).to_string(), SecretValue::new(v.to_vec())))
                .collect(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            finalizers: Vec::new(),
            immutable: false,
            creation_policy: Default::default(),
            deletion_policy: Default::default(),
            templated: false,
        }
    }

    #[test]
    fn variable_names() {
        let cases = [
            ("password", "password"),
            ("db-password", "db_password"),
            ("tls.crt", "tls_crt"),
            ("1st", "_1st"),
            ("", "_"),
        ];
        for (key, name) in cases {
            assert_eq!(variable_name(key), name);
        }
    }

    #[test]
    fn env_lines_quote_everything() {
        let s = secret("s", &[("a", b"it's $HOME\n`x`"), ("b", b"\xff\xfe")]);
        let out = env_exports(&[s]).expect("writable");
        assert_eq!(
            out,
            b"export a='it'\\''s $HOME\n`x`'\nexport b='\xff\xfe'\n".to_vec()
        );
    }

    #[test]
    fn dotenv_escapes_backslashes_and_quotes() {
        let s = secret("s", &[("k", b"a\\'b\n=$X")]);
        assert_eq!(
            dotenv(&[s]).expect("writable"),
            b"k='a\\\\\\'b\n=$X'\n".to_vec()
        );
    }

    #[test]
    fn what_a_format_cannot_hold_is_refused_naming_the_key() {
        let nul = secret("s", &[("k", b"a\0b")]);
        let err = env_exports(std::slice::from_ref(&nul)).expect_err("NUL");
        assert!(
            err.starts_with("Secret ns/s key \"k\": the value contains a NUL byte"),
            "{err}"
        );
        let binary = secret("s", &[("k", b"\xff")]);
        let err = dotenv(&[binary]).expect_err("not UTF-8");
        assert!(err.contains("key \"k\": the value is not UTF-8"), "{err}");
        let clash = [
            secret("a", &[("db-pass", b"1")]),
            secret("b", &[("db.pass", b"2")]),
        ];
        let err = env_exports(&clash).expect_err("collision");
        assert!(
            err.contains("Secret ns/b key \"db.pass\" and Secret ns/a key \"db-pass\" both become variable db_pass"),
            "{err}"
        );
    }
}
