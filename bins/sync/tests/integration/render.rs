//! End-to-end tests of `secretsync render`: the quickstart, ADR manifests in both API versions,
//! and bad input that must fail with one clear line and never echo a secret value.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CANARY: &str = "canary-9d1e6c0f-never-print-me";

fn secretsync() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_secretsync"));
    // No cluster: whatever the machine has configured.
    cmd.env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST");
    cmd
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn render(paths: &[&Path]) -> Output {
    let mut cmd = secretsync();
    cmd.arg("render");
    for p in paths {
        cmd.arg("-f").arg(p);
    }
    cmd.output().expect("run secretsync")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes `content` to a fresh temp dir and returns (dir guard, file path).
fn manifest(content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("input.yaml");
    std::fs::write(&path, content).expect("write manifest");
    (dir, path)
}

const FAKE_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: fake
spec:
  provider:
    fake:
      data:
        - key: db
          value: '{"user":"admin","password":"canary-9d1e6c0f-never-print-me"}'
"#;

#[test]
fn quickstart_renders_the_adr_secret() {
    let out = render(&[&repo_root().join("examples/quickstart")]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text(&out.stdout))
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML"))
        .collect();
    assert_eq!(docs.len(), 1, "one Secret expected: {}", text(&out.stdout));
    let secret = &docs[0];
    assert_eq!(secret["apiVersion"], "v1");
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["name"], "azure-credentials");
    assert_eq!(secret["metadata"]["namespace"], "crossplane-system");
    let encoded = secret["data"]["credentials"]
        .as_str()
        .expect("data.credentials is a string");
    let decoded = base64_decode(encoded);
    let json: serde_json::Value =
        serde_json::from_slice(&decoded).expect("credentials hold the JSON document");
    assert_eq!(json["tenantId"], "00000000-0000-0000-0000-000000000003");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64 data")
}

#[test]
fn property_and_extract_work_in_both_api_versions() {
    for version in ["v1", "v1beta1"] {
        let (_dir, path) = manifest(&format!(
            "{FAKE_STORE}---\napiVersion: external-secrets.io/{version}\nkind: ExternalSecret\nmetadata:\n  name: app\n  namespace: team\nspec:\n  secretStoreRef: {{name: fake, kind: ClusterSecretStore}}\n  data:\n    - secretKey: username\n      remoteRef: {{key: db, property: user}}\n  dataFrom:\n    - extract: {{key: db}}\n"
        ));
        let out = render(&[&path]);
        assert!(out.status.success(), "{version}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let doc: serde_yaml::Value =
            serde_yaml::from_str(stdout.trim_start_matches("---\n")).expect("one YAML doc");
        let data = &doc["data"];
        assert_eq!(base64_decode(data["username"].as_str().unwrap()), b"admin");
        assert_eq!(base64_decode(data["user"].as_str().unwrap()), b"admin");
        assert_eq!(
            base64_decode(data["password"].as_str().unwrap()),
            CANARY.as_bytes()
        );
        assert_eq!(doc["metadata"]["namespace"], "team");
    }
}

/// Each case: a manifest, and the fragments the single error line must contain.
fn bad_input_cases() -> Vec<(&'static str, String, Vec<&'static str>)> {
    let es = |spec: &str| {
        format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: broken\n  namespace: team\nspec:\n{spec}"
        )
    };
    vec![
        (
            "malformed YAML",
            "apiVersion: v1\nkind: [Secret\n".to_string(),
            vec!["document 0", "malformed YAML"],
        ),
        (
            "unknown kind",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n".to_string(),
            vec!["document 0", "Widget/w", "kind", "unsupported kind"],
        ),
        (
            "missing store",
            es(
                "  secretStoreRef: {name: nowhere, kind: ClusterSecretStore}\n  data:\n    - secretKey: a\n      remoteRef: {key: db}\n",
            ),
            vec![
                "ExternalSecret team/broken",
                "spec.data[0]",
                "ClusterSecretStore nowhere",
                "is not in the given files, and no cluster is reachable",
            ],
        ),
        (
            "unsupported provider",
            format!(
                "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata:\n  name: gcp\nspec:\n  provider:\n    gcpsm:\n      projectID: p\n---\n{}",
                es(
                    "  secretStoreRef: {name: gcp, kind: ClusterSecretStore}\n  data:\n    - secretKey: a\n      remoteRef: {key: db}\n"
                )
            ),
            vec!["ExternalSecret team/broken", "gcpsm", "not supported"],
        ),
        (
            "missing required field",
            es(
                "  secretStoreRef: {name: fake, kind: ClusterSecretStore}\n  data:\n    - secretKey: a\n      remoteRef: {property: x}\n",
            ),
            vec![
                "document 1",
                "ExternalSecret/broken",
                "spec.data[0].remoteRef",
                "key",
            ],
        ),
        (
            "wrong type",
            es(&format!(
                "  secretStoreRef: {{name: fake, kind: ClusterSecretStore}}\n  data:\n    - secretKey: a\n      remoteRef: \"{CANARY}\"\n"
            )),
            vec![
                "document 1",
                "ExternalSecret/broken",
                "spec.data[0].remoteRef",
                "invalid type",
            ],
        ),
        (
            "duplicate secretKey",
            es(
                "  secretStoreRef: {name: fake, kind: ClusterSecretStore}\n  data:\n    - secretKey: a\n      remoteRef: {key: db}\n    - secretKey: a\n      remoteRef: {key: db}\n",
            ),
            vec![
                "document 1",
                "ExternalSecret/broken",
                "spec.data[1].secretKey",
                "more than once",
            ],
        ),
        (
            "neither data nor dataFrom",
            es("  secretStoreRef: {name: fake, kind: ClusterSecretStore}\n"),
            vec![
                "document 1",
                "ExternalSecret/broken",
                "spec.data or spec.dataFrom",
            ],
        ),
    ]
}

#[test]
fn bad_input_fails_with_one_clear_line() {
    for (name, body, fragments) in bad_input_cases() {
        // Every case but the first two runs next to the fake store.
        let content =
            if name == "malformed YAML" || name == "unknown kind" || name == "unsupported provider"
            {
                body.clone()
            } else {
                format!("{FAKE_STORE}---\n{body}")
            };
        let (_dir, path) = manifest(&content);
        let out = render(&[&path]);
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: expected exit code 2 (invalid input); stderr: {stderr}"
        );
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(
            lines.len(),
            1,
            "{name}: expected exactly one error line, got: {stderr}"
        );
        assert!(
            lines[0].contains("input.yaml"),
            "{name}: the line names the file: {}",
            lines[0]
        );
        for f in &fragments {
            assert!(
                lines[0].contains(f),
                "{name}: {:?} missing from {:?}",
                f,
                lines[0]
            );
        }
        assert!(!stderr.contains("panicked"), "{name}: panic: {stderr}");
        assert!(
            !stderr.contains(CANARY) && !text(&out.stdout).contains(CANARY),
            "{name}: canary leaked: {stderr}"
        );
    }
}

#[test]
fn errors_and_logs_never_contain_secret_values() {
    // A fetch that fails after a successful one, at debug log level: the canary must not appear
    // in stderr (logs and errors); it may only appear, base64-encoded, in the rendered output.
    let (_dir, path) = manifest(&format!(
        "{FAKE_STORE}---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: app\nspec:\n  secretStoreRef: {{name: fake, kind: ClusterSecretStore}}\n  data:\n    - secretKey: password\n      remoteRef: {{key: db, property: password}}\n    - secretKey: missing\n      remoteRef: {{key: db, property: nosuchproperty}}\n    - secretKey: gone\n      remoteRef: {{key: nosuchkey}}\n"
    ));
    let out = secretsync()
        .args(["--log-level", "trace", "render", "-f"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = text(&out.stderr);
    // A missing remote key alone is exit code 1; a property missing from an existing value
    // fails the sync as in ESO and counts as invalid input (2), which wins.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("nosuchproperty") || stderr.contains("nosuchkey"),
        "errors name the keys: {stderr}"
    );
    assert!(
        !stderr.contains(CANARY),
        "canary leaked to stderr: {stderr}"
    );
    assert!(
        !text(&out.stdout).contains(CANARY),
        "values are base64 in the output, never raw"
    );
}

#[test]
fn missing_files_mixed_documents_and_unreachable_stores_have_their_exit_codes() {
    // A missing file: 2, naming it.
    let out = secretsync()
        .args(["check", "-f", "/nonexistent/manifests.yaml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/manifests.yaml: no such file or directory"),
        "{}",
        text(&out.stderr)
    );

    // Valid and invalid documents in one file: the valid ones are still rendered, exit 2.
    let (_dir, path) = manifest(&format!(
        "{FAKE_STORE}---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: good, namespace: apps}}\nspec:\n  secretStoreRef: {{name: fake, kind: ClusterSecretStore}}\n  data: [{{secretKey: user, remoteRef: {{key: db, property: user}}}}]\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: bad, namespace: apps}}\nspec:\n  secretStoreRef: {{name: fake, kind: ClusterSecretStore}}\n  data: [{{secretKey: user}}]\n"
    ));
    let out = render(&[&path]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        text(&out.stdout).contains("name: good"),
        "the valid document is rendered"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    for part in [
        "input.yaml: document 2",
        "ExternalSecret/bad",
        "spec.data[0]",
        "missing field `remoteRef`",
    ] {
        assert!(
            errors[0].contains(part),
            "{part:?} missing from {}",
            errors[0]
        );
    }

    // A store nobody listens for: 3, naming the file, the object, the field and the store.
    let (_dir, path) = manifest(
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: vault}\nspec:\n  provider:\n    vault: {server: 'http://127.0.0.1:1', path: secret}\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: app, namespace: apps}\nspec:\n  secretStoreRef: {name: vault, kind: ClusterSecretStore}\n  data: [{secretKey: a, remoteRef: {key: db}}]\n",
    );
    let out = secretsync()
        .env("VAULT_TOKEN", "t")
        .args(["check", "-f"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("input.yaml: document 1: ExternalSecret apps/app: spec.data[0]")
            && stderr.contains("ClusterSecretStore vault"),
        "{stderr}"
    );
}

#[test]
fn a_configured_cluster_that_is_unreachable_is_named_with_the_cause() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let server = format!("https://127.0.0.1:{port}/");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: '{server}'}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n"
        ),
    )
    .expect("kubeconfig");
    let unreachable = format!("the Kubernetes API server {server} is unreachable or refuses us");
    let run = |args: &[&str], file: &Path| {
        let out = secretsync()
            .args(args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("-f")
            .arg(file)
            .output()
            .expect("run");
        (out.status.code(), text(&out.stderr), out.stdout)
    };
    let quickstart = repo_root().join("examples/quickstart");

    // sync needs the cluster: 3, naming the server and the cause.
    let (code, stderr, _) = run(&["sync"], &quickstart);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: this command needs a cluster: {unreachable}"
        )) && stderr.contains("Connection refused"),
        "{stderr}"
    );

    // render with everything in the files does not need it.
    let (code, stderr, stdout) = run(&["render"], &quickstart);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(text(&stdout).contains("name: azure-credentials"));

    // A store the files lack: what is missing, and why the cluster could not be asked (3, an
    // outage, not bad input).
    let (_dir, path) = manifest(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: app, namespace: apps}\nspec:\n  secretStoreRef: {name: vault}\n  data: [{secretKey: a, remoteRef: {key: db}}]\n",
    );
    let (code, stderr, _) = run(&["render"], &path);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("ExternalSecret apps/app: spec.data[0]")
            && stderr.contains(&format!(
                "SecretStore apps/vault is not in the given files, and no cluster is reachable to read it from ({unreachable}"
            )),
        "{stderr}"
    );
}

#[test]
fn a_password_generator_renders_offline() {
    let (_dir, path) = manifest(
        r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: pw, namespace: apps}
spec: {length: 20, digits: 4, symbols: 0, noUpper: true}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: apps}
spec:
  refreshInterval: "0"
  target: {name: db-password}
  dataFrom:
    - sourceRef:
        generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}
"#,
    );
    let out = render(&[&path]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let secret: serde_yaml::Value = serde_yaml::from_str(&text(&out.stdout)).expect("one Secret");
    assert_eq!(secret["metadata"]["name"], "db-password");
    let encoded = secret["data"]["password"].as_str().expect("data.password");
    let password = String::from_utf8(base64_decode(encoded)).expect("text");
    assert_eq!(password.len(), 20);
    assert_eq!(password.chars().filter(char::is_ascii_digit).count(), 4);
    assert!(
        password
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    );
}
