//! Vault API paths for KV reads, following ESO's `buildPath`/`buildMetadataPath` rules.

use secretsync_model::providers::VaultKvVersion;

/// The store's KV layout: optional mount (`spec.path`) and engine version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KvLayout {
    /// `spec.path` without surrounding slashes; `None` when the key carries the mount.
    pub mount: Option<String>,
    /// KV engine version.
    pub version: VaultKvVersion,
}

impl KvLayout {
    /// Builds the layout from the store fields.
    pub fn new(path: Option<&str>, version: VaultKvVersion) -> Self {
        let mount = path
            .map(|p| p.trim_matches('/').to_string())
            .filter(|p| !p.is_empty());
        KvLayout { mount, version }
    }

    fn is_v2(&self) -> bool {
        self.version == VaultKvVersion::V2
    }

    /// Strips a leading `<mount>/` (and `data/` on v2) from a key that repeats the mount.
    fn relative_key<'k>(&self, mount: &str, key: &'k str) -> &'k str {
        let prefix = format!("{mount}/");
        match key.strip_prefix(&prefix) {
            Some(rest) if self.is_v2() => rest.strip_prefix("data/").unwrap_or(rest),
            Some(rest) => rest,
            None => key,
        }
    }

    /// API path of a secret's data (without the `/v1/` prefix).
    pub fn data_path(&self, key: &str) -> String {
        let key = key.trim_start_matches('/');
        match &self.mount {
            Some(mount) => {
                let rest = self.relative_key(mount, key);
                if self.is_v2() {
                    format!("{mount}/data/{rest}")
                } else {
                    format!("{mount}/{rest}")
                }
            }
            None if self.is_v2() && !key.contains("/data/") => match key.split_once('/') {
                Some((mount, rest)) => format!("{mount}/data/{rest}"),
                None => format!("{key}/data"),
            },
            None => key.to_string(),
        }
    }

    /// API path of a secret's KV v2 metadata, or `None` when it cannot be derived (KV v2
    /// without `spec.path` and a key without `/data/`). For KV v1 this is the data path.
    pub fn metadata_path(&self, key: &str) -> Option<String> {
        let key = key.trim_start_matches('/');
        match (&self.mount, self.is_v2()) {
            (Some(mount), false) => Some(format!("{mount}/{key}")),
            (None, false) => Some(key.to_string()),
            (Some(mount), true) => Some(format!(
                "{mount}/metadata/{}",
                self.relative_key(mount, key)
            )),
            (None, true) if key.contains("/data/") => Some(key.replacen("/data/", "/metadata/", 1)),
            (None, true) => None,
        }
    }

    /// API path to LIST for `find` under `search` (`""` or ending in `/`), or `None` without
    /// a mount.
    pub fn list_path(&self, search: &str) -> Option<String> {
        let mount = self.mount.as_ref()?;
        Some(if self.is_v2() {
            format!("{mount}/metadata/{search}")
        } else {
            format!("{mount}/{search}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(path: Option<&str>) -> KvLayout {
        KvLayout::new(path, VaultKvVersion::V2)
    }

    fn v1(path: Option<&str>) -> KvLayout {
        KvLayout::new(path, VaultKvVersion::V1)
    }

    #[test]
    fn data_paths_follow_eso_rules() {
        assert_eq!(
            v2(Some("secret/path")).data_path("foo"),
            "secret/path/data/foo"
        );
        assert_eq!(v1(Some("secret/path")).data_path("foo"), "secret/path/foo");
        assert_eq!(
            v2(Some("secret/path")).data_path("secret/path/foo"),
            "secret/path/data/foo"
        );
        assert_eq!(
            v2(Some("secret/path")).data_path("secret/path/data/foo"),
            "secret/path/data/foo"
        );
        assert_eq!(
            v1(Some("secret/path")).data_path("secret/path/foo"),
            "secret/path/foo"
        );
        assert_eq!(
            v2(None).data_path("secret/path/foo"),
            "secret/data/path/foo"
        );
        assert_eq!(
            v2(None).data_path("secret/path/data/foo"),
            "secret/path/data/foo"
        );
        assert_eq!(v1(None).data_path("secret/path/foo"), "secret/path/foo");
        assert_eq!(v2(Some("/secret/")).data_path("a/b"), "secret/data/a/b");
    }

    #[test]
    fn metadata_paths_follow_eso_rules() {
        assert_eq!(
            v2(Some("secret")).metadata_path("a/b").as_deref(),
            Some("secret/metadata/a/b")
        );
        assert_eq!(
            v2(Some("secret")).metadata_path("secret/data/a").as_deref(),
            Some("secret/metadata/a")
        );
        assert_eq!(
            v2(None).metadata_path("secret/data/a").as_deref(),
            Some("secret/metadata/a")
        );
        assert_eq!(v2(None).metadata_path("secret/a"), None);
        assert_eq!(v1(Some("kv")).metadata_path("a").as_deref(), Some("kv/a"));
    }

    #[test]
    fn list_paths_need_a_mount() {
        assert_eq!(
            v2(Some("secret")).list_path("").as_deref(),
            Some("secret/metadata/")
        );
        assert_eq!(
            v2(Some("secret")).list_path("app/").as_deref(),
            Some("secret/metadata/app/")
        );
        assert_eq!(v1(Some("kv")).list_path("app/").as_deref(), Some("kv/app/"));
        assert_eq!(v2(None).list_path(""), None);
    }
}
