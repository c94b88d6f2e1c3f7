//! moto: every command and output mode with static keys, and the GitHub Actions OIDC example
//! (web identity: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`) replacing the cluster's IRSA.

use secretsync_testkit::azure::TestIssuer;
use secretsync_testkit::peers::Moto;
use serde_json::json;

use crate::peers::common::{Peer, exercise, external_secrets, remote_document};

/// Creates a Secrets Manager secret in moto.
pub async fn create_secret(moto: &Moto, name: &str, value: &str) {
    moto.create_secret(name, value).await.expect("moto");
}

fn store(auth: Option<serde_json::Value>) -> String {
    let mut aws = json!({"service": "SecretsManager", "region": "us-east-1"});
    if let Some(a) = auth {
        aws["auth"] = a;
    }
    serde_yaml::to_string(&json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "aws"},
        "spec": {"provider": {"aws": aws}}
    }))
    .expect("YAML")
}

fn base_env(moto: &Moto, dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("SECRETSYNC_AWS_ENDPOINT_URL".into(), moto.endpoint().into()),
        (
            "AWS_CONFIG_FILE".into(),
            dir.join("none").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            dir.join("none").display().to_string(),
        ),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_and_output_mode() {
    let moto = Moto::start().await.expect("moto");
    create_secret(&moto, "app", &remote_document()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&moto, dir.path());
    env.push(("AWS_ACCESS_KEY_ID".into(), "testing".into()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), "testing".into()));
    exercise(&Peer {
        stores: store(None),
        store: "aws".into(),
        env,
        args: vec![],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_oidc_web_identity() {
    let moto = Moto::start().await.expect("moto");
    create_secret(&moto, "app", &remote_document()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer =
        TestIssuer::generate("https://token.actions.githubusercontent.com").expect("issuer");
    let token = issuer
        .token(
            "repo:example/app:ref:refs/heads/main",
            "sts.amazonaws.com",
            300,
        )
        .expect("token");
    let token_file = dir.path().join("oidc-token");
    std::fs::write(&token_file, &token).expect("write");
    let stores = dir.path().join("stores.yaml");
    // The store as the cluster has it: IRSA through a ServiceAccount.
    let irsa = json!({"jwt": {"serviceAccountRef": {"name": "eso", "namespace": "eso"}}});
    std::fs::write(&stores, store(Some(irsa))).expect("write");
    let apps = dir.path().join("apps.yaml");
    std::fs::write(&apps, external_secrets("aws")).expect("write");
    let mut env = base_env(&moto, dir.path());
    env.push((
        "AWS_ROLE_ARN".into(),
        "arn:aws:iam::123456789012:role/github-deploy".into(),
    ));
    env.push((
        "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
        token_file.display().to_string(),
    ));
    let peer = Peer {
        stores: String::new(),
        store: "aws".into(),
        env,
        args: vec!["--env-credentials".into(), "aws".into()],
    };
    moto.start_recording().await.expect("record");
    let r = peer
        .run(&["render", "-q", "-o", "json"], &[&stores, &apps])
        .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains(&token));
    let calls = moto.recorded_calls().await.expect("calls");
    assert!(
        calls
            .iter()
            .any(|c| c.action == "AssumeRoleWithWebIdentity"),
        "{calls:?}"
    );
}

/// Issue #15: the reads of a run are planned first and sent in full batches of 20 ids, so
/// `render` of N ExternalSecrets over N distinct secrets costs ⌈N/20⌉ Secrets Manager calls,
/// however the syncs happen to interleave (here: four at a time, which alone would send most
/// reads one by one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_reads_in_full_batches() {
    const OBJECTS: usize = 90;
    let moto = Moto::start().await.expect("moto");
    let mut manifests = String::new();
    for i in 0..OBJECTS {
        let document = json!({"user": format!("user-{i}"), "password": format!("pw-{i}")});
        create_secret(&moto, &format!("app-{i}"), &document.to_string()).await;
        manifests.push_str(&format!(
            "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\n\
             metadata: {{name: app-{i}, namespace: team-a}}\n\
             spec:\n  secretStoreRef: {{name: aws, kind: ClusterSecretStore}}\n  data:\n\
             \x20   - {{secretKey: user, remoteRef: {{key: app-{i}, property: user}}}}\n\
             \x20   - {{secretKey: password, remoteRef: {{key: app-{i}, property: password}}}}\n"
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let apps = dir.path().join("apps.yaml");
    std::fs::write(&apps, manifests).expect("write");
    let stores = dir.path().join("stores.yaml");
    std::fs::write(&stores, store(None)).expect("write");
    let mut env = base_env(&moto, dir.path());
    env.push(("AWS_ACCESS_KEY_ID".into(), "testing".into()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), "testing".into()));
    let peer = Peer {
        stores: String::new(),
        store: "aws".into(),
        env,
        args: vec![],
    };
    moto.start_recording().await.expect("record");
    let r = peer
        .run(
            &["render", "-q", "-o", "json", "--concurrency", "4"],
            &[&stores, &apps],
        )
        .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = String::from_utf8_lossy(&r.stdout);
    for i in [0, OBJECTS - 1] {
        assert!(
            out.contains(&format!("\"user-{i}\"")) || out.contains(&format!("app-{i}")),
            "{out}"
        );
    }
    let calls = moto.recorded_calls().await.expect("calls");
    let actions: Vec<&str> = calls
        .iter()
        .filter(|c| c.service == "secretsmanager")
        .map(|c| c.action.as_str())
        .collect();
    assert_eq!(
        actions,
        vec!["BatchGetSecretValue"; OBJECTS.div_ceil(20)],
        "one call per 20 distinct secrets"
    );
}
