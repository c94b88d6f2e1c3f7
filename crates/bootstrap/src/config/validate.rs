//! The rules of `bootstrap.yaml` beyond its types; each failure names the field.

use super::{API_VERSION, AWS_STORE, AZURE_STORE, Bootstrap, KIND, Vault};

pub(crate) type Rule = Result<(), (String, String)>;

fn fail(field: impl Into<String>, message: impl Into<String>) -> Rule {
    Err((field.into(), message.into()))
}

/// A DNS-1123 label (namespaces, ServiceAccounts) or subdomain (Secrets) check.
fn is_name(s: &str, subdomain: bool) -> bool {
    let max = if subdomain { 253 } else { 63 };
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (subdomain && b == b'.')
        })
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

/// A Vault path segment: no empty segments, no `..`, no leading or trailing `/`.
fn is_vault_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('/')
            .all(|seg| !seg.is_empty() && seg != ".." && seg != ".")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

fn http_url(field: &str, s: &str) -> Rule {
    match url_scheme(s) {
        Some("http" | "https") => Ok(()),
        _ => fail(field, format!("expected an http(s) URL, got {s:?}")),
    }
}

fn url_scheme(s: &str) -> Option<&str> {
    let (scheme, rest) = s.split_once("://")?;
    (!rest.is_empty()).then_some(scheme)
}

/// The rules beyond types.
pub fn validate(c: &Bootstrap) -> Result<(), (String, String)> {
    if c.api_version != API_VERSION {
        return fail("apiVersion", format!("expected {API_VERSION:?}"));
    }
    if c.kind != KIND {
        return fail("kind", format!("expected {KIND:?}"));
    }
    if !is_name(&c.operator.namespace, false) {
        return fail("operator.namespace", "expected a DNS-1123 label");
    }
    if !is_name(&c.operator.service_account, true) {
        return fail("operator.serviceAccount", "expected a DNS-1123 subdomain");
    }
    if c.operator.install.as_deref().is_some_and(str::is_empty) {
        return fail(
            "operator.install",
            "expected the path of a YAML file or kustomization directory",
        );
    }
    if let Some(a) = &c.stores.azure {
        http_url("stores.azure.vaultUrl", &a.vault_url)?;
        if let Some(h) = &a.authority_host {
            http_url("stores.azure.authorityHost", h)?;
        }
        for (field, v) in [("clientId", &a.client_id), ("tenantId", &a.tenant_id)] {
            if v.is_empty() {
                return fail(format!("stores.azure.{field}"), "must not be empty");
            }
        }
    }
    if let Some(a) = &c.stores.aws {
        if !a.role_arn.starts_with("arn:") {
            return fail("stores.aws.roleArn", "expected an IAM role ARN (arn:...)");
        }
        if a.region.is_empty() {
            return fail("stores.aws.region", "must not be empty");
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in c.bootstrap_secrets.iter().enumerate() {
        let at = |f: &str| format!("bootstrapSecrets[{i}].{f}");
        if !is_name(&s.name, true) {
            return fail(at("name"), "expected a DNS-1123 subdomain");
        }
        if !is_name(&s.namespace, false) {
            return fail(at("namespace"), "expected a DNS-1123 label");
        }
        if !seen.insert((s.namespace.clone(), s.name.clone())) {
            return fail(
                at("name"),
                format!("{}/{} is listed twice", s.namespace, s.name),
            );
        }
        let configured = match s.store.as_str() {
            AZURE_STORE => c.stores.azure.is_some(),
            AWS_STORE => c.stores.aws.is_some(),
            _ => {
                return fail(
                    at("store"),
                    format!(
                        "expected {AZURE_STORE:?} or {AWS_STORE:?}, got {:?}",
                        s.store
                    ),
                );
            }
        };
        if !configured {
            return fail(
                at("store"),
                format!("store {:?} is not configured under stores", s.store),
            );
        }
        if secretsync_model::duration::parse_go_duration(&s.refresh_interval).is_err() {
            return fail(at("refreshInterval"), "expected a Go duration such as 1h");
        }
        if s.data.is_empty() {
            return fail(at("data"), "expected at least one entry");
        }
        let mut keys = std::collections::BTreeSet::new();
        for (j, d) in s.data.iter().enumerate() {
            if d.secret_key.is_empty() || !keys.insert(d.secret_key.as_str()) {
                return fail(
                    at(&format!("data[{j}].secretKey")),
                    "expected a non-empty key, unique in this secret",
                );
            }
            if d.remote_key.is_empty() {
                return fail(at(&format!("data[{j}].remoteKey")), "must not be empty");
            }
        }
    }
    if let Some(v) = &c.vault {
        validate_vault(v)?;
    }
    validate_migration(c)
}

fn validate_migration(c: &Bootstrap) -> Rule {
    if c.vault.is_none() && (!c.migration.is_empty() || !c.cutover.is_empty()) {
        return fail("vault", "migration and cutover need the vault block");
    }
    let mut targets = std::collections::BTreeSet::new();
    for (i, m) in c.migration.iter().enumerate() {
        let at = |f: &str| format!("migration[{i}].{f}");
        let configured = match m.store.as_str() {
            AZURE_STORE => c.stores.azure.is_some(),
            AWS_STORE => c.stores.aws.is_some(),
            _ => false,
        };
        if !configured {
            return fail(at("store"), "expected a store configured under stores");
        }
        if m.key.is_empty() {
            return fail(at("key"), "must not be empty");
        }
        if m.property.as_deref().is_some_and(str::is_empty) {
            return fail(
                at("property"),
                "expected a property of the cloud value, or no property for the whole value",
            );
        }
        if !is_vault_path(&m.to) {
            return fail(
                at("to"),
                "expected a path below secret/ such as crossplane/azure",
            );
        }
        if !targets.insert(m.to.as_str()) {
            return fail(at("to"), format!("{:?} is the target of two keys", m.to));
        }
    }
    let mut listed = std::collections::BTreeSet::new();
    for (i, r) in c.cutover.iter().enumerate() {
        let at = |f: &str| format!("cutover[{i}].{f}");
        if !is_name(&r.namespace, false) {
            return fail(at("namespace"), "expected a DNS-1123 label");
        }
        if !is_name(&r.name, true) {
            return fail(at("name"), "expected a DNS-1123 subdomain");
        }
        if !listed.insert((r.namespace.as_str(), r.name.as_str())) {
            return fail(
                at("name"),
                format!("{}/{} is listed twice", r.namespace, r.name),
            );
        }
        // A bootstrap ExternalSecret's references are known now; any other ExternalSecret's
        // are checked against migration when it is read (plan shows it, apply refuses it).
        if let Some(s) = c
            .bootstrap_secrets
            .iter()
            .find(|s| s.namespace == r.namespace && s.name == r.name)
            && let Err(e) = crate::cutover::translate::translate(
                &crate::desired::external_secret(s),
                &c.migration,
            )
        {
            return fail(
                format!("cutover[{i}]"),
                format!(
                    "bootstrap secret {}/{}: {e}; add the key to migration",
                    r.namespace, r.name
                ),
            );
        }
    }
    Ok(())
}

fn validate_vault(v: &Vault) -> Rule {
    http_url("vault.address", &v.address)?;
    http_url("vault.server", &v.server)?;
    if let Some(h) = &v.kubernetes.host {
        http_url("vault.kubernetes.host", h)?;
    }
    if let Some(a) = &v.app_role {
        if !is_vault_path(&a.role) || a.role.contains('/') {
            return fail("vault.appRole.role", "expected a role name");
        }
        if a.read_paths.is_empty() {
            return fail("vault.appRole.readPaths", "expected at least one path");
        }
        for (i, p) in a.read_paths.iter().enumerate() {
            let bare = p.strip_suffix("/*").or(p.strip_suffix('*')).unwrap_or(p);
            if !bare.is_empty() && !is_vault_path(bare) {
                return fail(
                    format!("vault.appRole.readPaths[{i}]"),
                    "expected a path below secret/ such as ci/*",
                );
            }
        }
    }
    if let Some(d) = &v.database {
        for (field, value) in [
            ("mount", &d.mount),
            ("connection", &d.connection),
            ("role", &d.role),
        ] {
            if !is_vault_path(value) || (field != "mount" && value.contains('/')) {
                return fail(format!("vault.database.{field}"), "expected a Vault name");
            }
        }
        if d.address.contains('@') || d.address.contains("://") {
            return fail(
                "vault.database.address",
                "expected host:port/dbname without scheme or credentials",
            );
        }
        if d.username.is_empty() {
            return fail("vault.database.username", "must not be empty");
        }
        if d.default_ttl == 0 {
            return fail("vault.database.defaultTtl", "expected seconds > 0");
        }
    }
    if let Some(p) = &v.pki {
        if !is_vault_path(&p.mount) {
            return fail("vault.pki.mount", "expected a Vault path");
        }
        if !is_vault_path(&p.role) || p.role.contains('/') {
            return fail("vault.pki.role", "expected a role name");
        }
        if p.common_name.is_empty() {
            return fail("vault.pki.commonName", "must not be empty");
        }
        if p.allowed_domains.is_empty() {
            return fail("vault.pki.allowedDomains", "expected at least one domain");
        }
        if p.max_ttl == 0 {
            return fail("vault.pki.maxTtl", "expected seconds > 0");
        }
    }
    Ok(())
}
