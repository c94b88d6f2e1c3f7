//! OpenBao: every command and output mode, and the CI logins of docs/ci.md (GitLab AppRole,
//! GitHub Actions and GitLab JWT with the CI's token simulated by a test issuer).

use reqwest::Method;
use secrecy::ExposeSecret;
use secretsync_testkit::azure::TestIssuer;
use secretsync_testkit::peers::Bao;
use serde_json::json;

use crate::peers::common::{Peer, exercise, external_secrets, remote_document};

async fn bao_with_app() -> Bao {
    let bao = Bao::start().await.expect("OpenBao");
    let doc: serde_json::Value = serde_json::from_str(&remote_document()).expect("JSON");
    bao.sys_request(
        Method::POST,
        "secret/data/app",
        Some(json!({ "data": doc })),
    )
    .await
    .expect("seed");
    bao.sys_request(
        Method::PUT,
        "sys/policies/acl/reader",
        Some(json!({"policy": "path \"secret/data/*\" { capabilities = [\"read\"] }"})),
    )
    .await
    .expect("policy");
    bao
}

fn store(bao: &Bao, auth: Option<serde_json::Value>) -> String {
    let mut vault = json!({"server": bao.addr(), "path": "secret", "version": "v2"});
    if let Some(a) = auth {
        vault["auth"] = a;
    }
    serde_yaml::to_string(&json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "vault"},
        "spec": {"provider": {"vault": vault}}
    }))
    .expect("YAML")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_and_output_mode() {
    let bao = bao_with_app().await;
    exercise(&Peer {
        stores: store(&bao, None),
        store: "vault".into(),
        env: vec![(
            "VAULT_TOKEN".into(),
            bao.root_token().expose_secret().into(),
        )],
        args: vec![],
    })
    .await;
}

/// The GitLab CI AppRole example: role id in a variable, secret id in a file variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_approle() {
    let bao = bao_with_app().await;
    bao.sys_request(
        Method::POST,
        "sys/auth/approle",
        Some(json!({"type": "approle"})),
    )
    .await
    .expect("enable approle");
    bao.sys_request(
        Method::POST,
        "auth/approle/role/ci",
        Some(json!({"token_policies": ["reader"], "token_ttl": "10m"})),
    )
    .await
    .expect("role");
    let role_id = bao
        .sys_request(Method::GET, "auth/approle/role/ci/role-id", None)
        .await
        .expect("role id")["data"]["role_id"]
        .as_str()
        .expect("role_id")
        .to_string();
    let secret_id = bao
        .sys_request(Method::POST, "auth/approle/role/ci/secret-id", None)
        .await
        .expect("secret id")["data"]["secret_id"]
        .as_str()
        .expect("secret_id")
        .to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let secret_id_file = dir.path().join("secret-id");
    std::fs::write(&secret_id_file, format!("{secret_id}\n")).expect("write");
    let files = write_manifests(dir.path(), &store(&bao, None));
    let peer = Peer {
        stores: String::new(),
        store: "vault".into(),
        env: vec![
            ("VAULT_ROLE_ID".into(), role_id),
            (
                "VAULT_SECRET_ID_FILE".into(),
                secret_id_file.display().to_string(),
            ),
        ],
        args: vec![],
    };
    let r = peer
        .run(
            &["render", "-q"],
            &files.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains(&secret_id),
        "the secret id never printed"
    );
    // A wrong secret id: the login is refused, exit code 3, the store and method named.
    std::fs::write(&secret_id_file, "not-the-secret-id").expect("write");
    let r = peer
        .run(
            &["check", "-q"],
            &files.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("approle login at auth/approle"),
        "{}",
        r.stderr
    );
}

fn write_manifests(dir: &std::path::Path, stores: &str) -> Vec<std::path::PathBuf> {
    let s = dir.join("stores.yaml");
    let a = dir.join("apps.yaml");
    std::fs::write(&s, stores).expect("write");
    std::fs::write(&a, external_secrets("vault")).expect("write");
    vec![s, a]
}

/// GitHub Actions (token file) and GitLab (`id_tokens` variable) JWT logins; the cluster's
/// kubernetes auth of the store replaced with `--env-credentials`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_and_gitlab_jwt() {
    let bao = bao_with_app().await;
    let issuer =
        TestIssuer::generate("https://token.actions.githubusercontent.com").expect("issuer");
    bao.sys_request(Method::POST, "sys/auth/jwt", Some(json!({"type": "jwt"})))
        .await
        .expect("enable jwt");
    bao.sys_request(
        Method::POST,
        "auth/jwt/config",
        Some(json!({
            "jwt_validation_pubkeys": [issuer.public_key_pem().expect("pem")],
            "bound_issuer": issuer.issuer(),
        })),
    )
    .await
    .expect("jwt config");
    bao.sys_request(
        Method::POST,
        "auth/jwt/role/deploy",
        Some(json!({
            "role_type": "jwt",
            "bound_audiences": ["https://github.com/example"],
            "user_claim": "sub",
            "bound_subject": "repo:example/app:ref:refs/heads/main",
            "token_policies": ["reader"],
            "token_ttl": "10m",
        })),
    )
    .await
    .expect("jwt role");
    let token = issuer
        .token(
            "repo:example/app:ref:refs/heads/main",
            "https://github.com/example",
            300,
        )
        .expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("oidc-token");
    std::fs::write(&token_file, &token).expect("write");
    // The store as the cluster has it: kubernetes auth, useless in CI.
    let cluster_store = store(
        &bao,
        Some(json!({"kubernetes": {"role": "eso", "serviceAccountRef": {"name": "eso"}}})),
    );
    let files = write_manifests(dir.path(), &cluster_store);
    let paths: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();

    // Without --env-credentials: the ServiceAccount needs a cluster, and the message says so.
    let github = Peer {
        stores: String::new(),
        store: "vault".into(),
        env: vec![
            ("VAULT_JWT_FILE".into(), token_file.display().to_string()),
            ("VAULT_JWT_ROLE".into(), "deploy".into()),
        ],
        args: vec![],
    };
    let r = github.run(&["render", "-q"], &paths).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("ServiceAccount default/eso")
            || r.stderr.contains("ServiceAccount apps/eso"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("no cluster is reachable"), "{}", r.stderr);

    let mut with_env = github;
    with_env.args = vec![
        "--env-credentials".into(),
        "ClusterSecretStore/vault".into(),
    ];
    let r = with_env.run(&["render", "-q"], &paths).await;
    assert_eq!(r.code, 0, "GitHub token file: {}", r.stderr);
    assert!(!r.stderr.contains(&token));

    // GitLab: the id_token in a variable.
    let gitlab = Peer {
        stores: String::new(),
        store: "vault".into(),
        env: vec![
            ("VAULT_JWT".into(), token.clone()),
            ("VAULT_JWT_ROLE".into(), "deploy".into()),
            ("SECRETSYNC_ENV_CREDENTIALS".into(), "vault".into()),
        ],
        args: vec![],
    };
    let r = gitlab.run(&["check", "-q"], &paths).await;
    assert_eq!(r.code, 0, "GitLab id_token: {}", r.stderr);
}

/// `secretsync push -f`: a PushSecret and its Secret from files go to OpenBao with ESO's
/// marker; `render` of an ExternalSecret reading it back yields the same value; a remote not
/// managed by secretsync or ESO is refused (exit 2) without the value in the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_from_files_then_read_back() {
    let bao = bao_with_app().await;
    bao.sys_request(
        Method::POST,
        "secret/data/theirs",
        Some(json!({"data": {"password": "original"}})),
    )
    .await
    .expect("seed");
    let peer = crate::peers::common::Peer {
        stores: store(&bao, None),
        store: "vault".into(),
        env: vec![(
            "VAULT_TOKEN".into(),
            bao.root_token().expose_secret().into(),
        )],
        args: vec![],
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let push_secret = |name: &str, remote: &str| {
        json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
               "metadata": {"name": name, "namespace": "ci"},
               "spec": {"secretStoreRefs": [{"name": "vault", "kind": "ClusterSecretStore"}],
                        "selector": {"secret": {"name": "src"}},
                        "data": [{"match": {"secretKey": "password",
                                            "remoteRef": {"remoteKey": remote, "property": "password"}}}]}})
    };
    let manifests = [
        peer.stores.clone(),
        serde_yaml::to_string(&json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "src", "namespace": "ci"},
            "stringData": {"password": crate::support::CANARY}}))
        .expect("YAML"),
        serde_yaml::to_string(&push_secret("ok", "pushed")).expect("YAML"),
        // a generated source with a templateFrom ConfigMap laid over it
        serde_yaml::to_string(&json!({"apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password", "metadata": {"name": "pw", "namespace": "ci"},
            "spec": {"length": 24, "digits": 5, "symbols": 0, "noUpper": false, "allowRepeat": true}}))
        .expect("YAML"),
        serde_yaml::to_string(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "tpl", "namespace": "ci"},
            "data": {"dsn": "postgres://app:{{ .password }}@db"}}))
        .expect("YAML"),
        serde_yaml::to_string(&json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
            "metadata": {"name": "generated", "namespace": "ci"},
            "spec": {"secretStoreRefs": [{"name": "vault", "kind": "ClusterSecretStore"}],
                     "selector": {"generatorRef": {"apiVersion": "generators.external-secrets.io/v1alpha1",
                                                   "kind": "Password", "name": "pw"}},
                     "template": {"templateFrom": [{"configMap": {"name": "tpl", "items": [{"key": "dsn"}]}}]},
                     "data": [{"match": {"remoteRef": {"remoteKey": "generated"}}}]}}))
        .expect("YAML"),
    ]
    .join("---\n");
    let file = dir.path().join("push.yaml");
    std::fs::write(&file, manifests).expect("write");
    let pushed = peer.run(&["push"], &[&file]).await;
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert!(
        !pushed.stderr.contains(crate::support::CANARY),
        "{}",
        pushed.stderr
    );
    let remote = bao
        .sys_request(Method::GET, "secret/data/pushed", None)
        .await
        .expect("pushed");
    assert_eq!(remote["data"]["data"]["password"], crate::support::CANARY);
    let meta = bao
        .sys_request(Method::GET, "secret/metadata/pushed", None)
        .await
        .expect("metadata");
    assert_eq!(
        meta["data"]["custom_metadata"]["managed-by"],
        "external-secrets"
    );
    let generated = bao
        .sys_request(Method::GET, "secret/data/generated", None)
        .await
        .expect("generated pushed")["data"]["data"]
        .clone();
    let password = generated["password"].as_str().expect("a password");
    assert_eq!(password.len(), 24, "the Password generator's length");
    assert_eq!(
        generated["dsn"].as_str(),
        Some(format!("postgres://app:{password}@db").as_str()),
        "templateFrom rendered over the generated data"
    );
    assert!(!pushed.stderr.contains(password), "{}", pushed.stderr);
    // pushing again changes nothing (a one-shot run generates anew, as each refresh of the
    // operator does) and still succeeds
    let again = peer.run(&["push"], &[&file]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        bao.sys_request(Method::GET, "secret/metadata/pushed", None)
            .await
            .expect("metadata")["data"]["current_version"],
        1
    );

    let refused_file = dir.path().join("refused.yaml");
    std::fs::write(
        &refused_file,
        [
            peer.stores.clone(),
            serde_yaml::to_string(&json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "src", "namespace": "ci"},
                "stringData": {"password": crate::support::CANARY}}))
            .expect("YAML"),
            serde_yaml::to_string(&push_secret("intruder", "theirs")).expect("YAML"),
        ]
        .join("---\n"),
    )
    .expect("write");
    let refused = peer.run(&["push"], &[&refused_file]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("not managed"), "{}", refused.stderr);
    assert!(
        !refused.stderr.contains(crate::support::CANARY),
        "{}",
        refused.stderr
    );
    assert_eq!(
        bao.sys_request(Method::GET, "secret/data/theirs", None)
            .await
            .expect("theirs")["data"]["data"]["password"],
        "original"
    );
}
