//! One scenario run through every command and output mode against a provider peer: the same
//! two ExternalSecrets (`text`: a plain and a tricky value; `bin`: bytes that are not UTF-8)
//! read from a store the peer serves.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

use crate::support::{CANARY, Run, run, secretsync};

/// Newlines, both quotes, `=`, `$`, `${..}`, backquotes, backslashes, a trailing newline.
pub const TRICKY: &str =
    "line 1\nit's \"quoted\" = $HOME ${PATH} `id` back\\slash \\' \\\\n\ttab\n";
/// Not UTF-8, with a quote, `=`, `$` and a newline.
pub const BINARY: &[u8] = b"\xff\xfe'=$\n\x80end";

/// The remote secret every peer holds at key `app`: a JSON document.
pub fn remote_document() -> String {
    serde_json::json!({
        "user": "admin",
        "password": TRICKY,
        "canary": CANARY,
        "blob": STANDARD.encode(BINARY),
    })
    .to_string()
}

/// The ExternalSecrets reading `app` through ClusterSecretStore `store`.
pub fn external_secrets(store: &str) -> String {
    format!(
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: text, namespace: apps, labels: {{kind: text}}}}
spec:
  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}
  data:
    - {{secretKey: user, remoteRef: {{key: app, property: user}}}}
    - {{secretKey: password, remoteRef: {{key: app, property: password}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: bin, namespace: apps, labels: {{kind: binary}}}}
spec:
  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}
  data:
    - {{secretKey: blob, remoteRef: {{key: app, property: blob, decodingStrategy: Base64}}}}
"#
    )
}

/// An ExternalSecret reading a key the peer does not have, and one reading the canary.
pub fn missing_and_canary(store: &str) -> String {
    format!(
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: missing, namespace: apps}}
spec:
  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}
  data:
    - {{secretKey: k, remoteRef: {{key: no-such-secret}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: canary, namespace: apps}}
spec:
  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}
  data:
    - {{secretKey: c, remoteRef: {{key: app, property: canary}}}}
"#
    )
}

/// How to reach the peer: the store manifest, environment and extra flags.
pub struct Peer {
    /// ClusterSecretStore manifest(s).
    pub stores: String,
    /// Store name.
    pub store: String,
    /// Environment of every run.
    pub env: Vec<(String, String)>,
    /// Extra flags of every run (e.g. `--ca-file`).
    pub args: Vec<String>,
}

impl Peer {
    fn command(&self, args: &[&str], files: &[&Path]) -> std::process::Command {
        let mut cmd = secretsync();
        cmd.args(args).args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for f in files {
            cmd.arg("-f").arg(f);
        }
        cmd
    }

    /// Runs the CLI off the async workers.
    pub async fn run(&self, args: &[&str], files: &[&Path]) -> Run {
        let mut cmd = self.command(args, files);
        tokio::task::spawn_blocking(move || run(&mut cmd))
            .await
            .expect("join")
    }
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write manifest");
    path
}

fn assert_clean(what: &str, r: &Run) {
    assert!(
        !r.stderr.contains(CANARY),
        "{what}: canary in stderr: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
}

/// Runs render in every output mode, check, diff and sync (against the Kubernetes API double).
pub async fn exercise(peer: &Peer) {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = write(dir.path(), "stores.yaml", &peer.stores);
    let apps = write(dir.path(), "apps.yaml", &external_secrets(&peer.store));
    let files = [stores.as_path(), apps.as_path()];
    let expected: BTreeMap<&str, &[u8]> = BTreeMap::from([
        ("user", b"admin".as_slice()),
        ("password", TRICKY.as_bytes()),
        ("blob", BINARY),
    ]);

    // yaml and json: base64 data, byte for byte.
    for format in ["yaml", "json"] {
        let r = peer.run(&["render", "-o", format], &files).await;
        assert_eq!(r.code, 0, "render -o {format}: {}", r.stderr);
        assert_clean(format, &r);
        let docs: Vec<serde_json::Value> = if format == "yaml" {
            serde_yaml::Deserializer::from_slice(&r.stdout)
                .map(|d| serde::Deserialize::deserialize(d).expect("YAML"))
                .collect()
        } else {
            let list: serde_json::Value = serde_json::from_slice(&r.stdout).expect("JSON");
            list["items"].as_array().expect("items").clone()
        };
        let mut got = BTreeMap::new();
        for d in &docs {
            for (k, v) in d["data"].as_object().expect("data") {
                got.insert(
                    k.clone(),
                    STANDARD.decode(v.as_str().expect("b64")).expect("b64"),
                );
            }
        }
        for (k, v) in &expected {
            assert_eq!(
                got.get(*k).map(Vec::as_slice),
                Some(*v),
                "{format}: key {k}"
            );
        }
    }

    // env: eval'd by bash, every byte back.
    let r = peer.run(&["render", "-o", "env"], &files).await;
    assert_eq!(r.code, 0, "render -o env: {}", r.stderr);
    let exports = write(dir.path(), "exports.sh", "");
    std::fs::write(&exports, &r.stdout).expect("write exports");
    for (k, v) in &expected {
        let out = dir.path().join(format!("env-{k}"));
        let status = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -eu; eval \"$(cat \"$1\")\"; printf '%s' \"${k}\" > \"$2\""
            ))
            .arg("bash")
            .arg(&exports)
            .arg(&out)
            .status()
            .expect("bash");
        assert!(status.success());
        assert_eq!(std::fs::read(&out).expect("read"), *v, "env: key {k}");
    }

    // dotenv: read back by python-dotenv (text values only; binary is refused by name).
    let r = peer
        .run(&["render", "-o", "dotenv", "-l", "kind=text"], &files)
        .await;
    assert_eq!(r.code, 0, "render -o dotenv: {}", r.stderr);
    let env_file = dir.path().join("app.env");
    std::fs::write(&env_file, &r.stdout).expect("write .env");
    let python = secretsync_testkit::peers::paths::python().expect("peers venv");
    let parsed = std::process::Command::new(python)
        .arg("-c")
        .arg("import json,sys; from dotenv import dotenv_values; sys.stdout.write(json.dumps(dotenv_values(sys.argv[1], interpolate=False)))")
        .arg(&env_file)
        .output()
        .expect("python-dotenv");
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let values: BTreeMap<String, String> = serde_json::from_slice(&parsed.stdout).expect("JSON");
    assert_eq!(values.get("password").map(String::as_str), Some(TRICKY));
    assert_eq!(values.get("user").map(String::as_str), Some("admin"));
    let r = peer
        .run(&["render", "-o", "dotenv", "-l", "kind=binary"], &files)
        .await;
    assert_eq!(r.code, 2, "binary values refused: {}", r.stderr);
    assert!(
        r.stderr
            .contains("Secret apps/bin key \"blob\": the value is not UTF-8"),
        "{}",
        r.stderr
    );

    // files: one file per key, 0600 in 0700 directories.
    let out = dir.path().join("out");
    let r = peer
        .run(
            &["render", "-o", &format!("files={}", out.display())],
            &files,
        )
        .await;
    assert_eq!(r.code, 0, "render -o files: {}", r.stderr);
    assert!(r.stdout.is_empty());
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o700);
    for (secret, key) in [("text", "user"), ("text", "password"), ("bin", "blob")] {
        let path = out.join("apps").join(secret).join(key);
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        assert_eq!(
            std::fs::read(&path).expect("read"),
            expected[key],
            "files: {key}"
        );
    }

    check_and_canary(peer, dir.path(), &stores).await;
    diff_and_sync(peer, &files).await;
    namespaced_store_uses_the_users_identity(peer, dir.path()).await;
}

/// The same store as a namespaced SecretStore: the one-shot CLI runs as its user, so the
/// user's identity (`VAULT_TOKEN`, the AWS chain, Azure's federated token and a non-official
/// host) serves it too (the operator allows that only for ClusterSecretStores by default).
async fn namespaced_store_uses_the_users_identity(peer: &Peer, dir: &Path) {
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&peer.stores) {
        let mut object: serde_json::Value =
            serde::Deserialize::deserialize(document).expect("store YAML");
        if object["kind"] == "ClusterSecretStore" {
            object["kind"] = "SecretStore".into();
            object["metadata"]["namespace"] = "apps".into();
        }
        documents.push(serde_yaml::to_string(&object).expect("YAML"));
    }
    let stores = write(dir, "namespaced-stores.yaml", &documents.join("---\n"));
    let apps = write(
        dir,
        "namespaced-apps.yaml",
        &external_secrets(&peer.store).replace("kind: ClusterSecretStore", "kind: SecretStore"),
    );
    let r = peer
        .run(
            &["render", "-o", "json", "-l", "kind=text"],
            &[&stores, &apps],
        )
        .await;
    assert_eq!(r.code, 0, "render through a SecretStore: {}", r.stderr);
    let list: serde_json::Value = serde_json::from_slice(&r.stdout).expect("JSON");
    let password = list["items"][0]["data"]["password"]
        .as_str()
        .map(|v| STANDARD.decode(v).expect("b64"));
    assert_eq!(password.as_deref(), Some(TRICKY.as_bytes()));
}

/// `check`: every key present → 0; a missing key → 1 naming file, object, field and key; the
/// canary never printed (trace logs included).
async fn check_and_canary(peer: &Peer, dir: &Path, stores: &Path) {
    let apps = write(dir, "apps.yaml", &external_secrets(&peer.store));
    let r = peer.run(&["check"], &[stores, &apps]).await;
    assert_eq!(r.code, 0, "check: {}", r.stderr);
    let bad = write(dir, "bad.yaml", &missing_and_canary(&peer.store));
    let r = peer
        .run(&["--log-level", "trace", "check"], &[stores, &bad])
        .await;
    assert_eq!(r.code, 1, "a missing key: {}", r.stderr);
    assert_clean("check", &r);
    assert!(!String::from_utf8_lossy(&r.stdout).contains(CANARY));
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    for part in [
        "bad.yaml: document 0",
        "ExternalSecret apps/missing",
        "spec.data[0]",
        "no-such-secret",
    ] {
        assert!(
            errors[0].contains(part),
            "{part:?} missing from {}",
            errors[0]
        );
    }
}

/// `diff` then `sync` then `diff` against the Kubernetes API double.
async fn diff_and_sync(peer: &Peer, files: &[&Path]) {
    let server = KubeApiServer::start(KubeApiOptions {
        crd_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")),
        namespaces: vec!["apps".into(), "secretsync-system".into()],
        ..Default::default()
    })
    .await
    .expect("Kubernetes API double");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let kc = kubeconfig.to_str().expect("utf-8 path");
    let r = peer
        .run(&["diff", "--exit-code", "--kubeconfig", kc], files)
        .await;
    assert_eq!(r.code, 1, "diff before sync: {}", r.stderr);
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    assert!(
        out.contains("create Secret apps/text") && out.contains("  + password  hmac:"),
        "{out}"
    );
    assert!(
        !out.contains("admin") && !out.contains("quoted"),
        "values never shown: {out}"
    );
    let r = peer.run(&["sync", "--kubeconfig", kc], files).await;
    assert_eq!(r.code, 0, "sync: {}", r.stderr);
    assert_clean("sync", &r);
    let client = server.client().expect("client");
    let secret = kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client, "apps")
        .get("bin")
        .await
        .expect("Secret bin");
    assert_eq!(secret.data.expect("data")["blob"].0, BINARY);
    let r = peer
        .run(&["diff", "--exit-code", "--kubeconfig", kc], files)
        .await;
    assert_eq!(
        r.code,
        0,
        "diff after sync: {} {}",
        r.stderr,
        String::from_utf8_lossy(&r.stdout)
    );
}
