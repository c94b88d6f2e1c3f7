//! Authentication modes against moto: static keys, web identity with a TokenRequest token from
//! the Kubernetes API double, role chaining with an external id, and IRSA from the
//! environment (in a child process, since tests share the process environment).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;

use base64::Engine as _;
use common::*;
use secretsync_model::credentials::StaticCredentials;
use secretsync_model::providers::{AwsAuth, AwsSessionTagsPolicy, AwsSpec, AwsTag};
use secretsync_model::{FetchRequest, SecretProvider};
use secretsync_provider_aws::{AwsOptions, AwsProvider};

/// Recorded `Authorization` headers of Secrets Manager calls.
async fn sm_authorizations(moto: &secretsync_testkit::peers::Moto) -> Vec<String> {
    let text = reqwest::get(format!(
        "{}/moto-api/recorder/download-recording",
        moto.endpoint()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| {
            let headers = e["headers"].as_object()?.clone();
            let auth = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?
                .1
                .as_str()?
                .to_string();
            auth.contains("/secretsmanager/").then_some(auth)
        })
        .collect()
}

#[tokio::test]
async fn static_keys_sign_requests() {
    let moto = moto().await;
    create_secret(&sm_admin(&moto), "k", "v").await;
    let provider = provider(&moto, sm_spec());
    moto.start_recording().await.unwrap();
    let value = provider.fetch(&FetchRequest::latest("k")).await.unwrap();
    assert_eq!(value.value.expose_str(), Some("v"));
    let auths = sm_authorizations(&moto).await;
    assert_eq!(auths.len(), 1, "{auths:?}");
    assert!(
        auths[0].contains("Credential=AKIAEXAMPLE000000001/"),
        "signed with the Secret's key: {}",
        auths[0]
    );
    // No STS involved for plain keys.
    assert!(calls(&moto).await.iter().all(|c| c.service != "sts"));
}

#[tokio::test]
async fn web_identity_with_a_token_request_token() {
    const ROLE: &str = "arn:aws:iam::123456789012:role/eso-web";
    let moto = moto().await;
    create_secret(&sm_admin(&moto), "wi", "from-web-identity").await;
    let (_kube, resolver) = kube_with_service_account(ROLE).await;
    let provider = AwsProvider::new(
        context(),
        AwsSpec {
            auth: jwt_auth(),
            ..sm_spec()
        },
        resolver.clone(),
        options(&moto),
    )
    .unwrap();
    moto.start_recording().await.unwrap();
    let value = provider.fetch(&FetchRequest::latest("wi")).await.unwrap();
    assert_eq!(value.value.expose_str(), Some("from-web-identity"));

    let bodies = recorded_bodies(&moto, "AssumeRoleWithWebIdentity").await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let form: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{}", bodies[0]))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("RoleArn").as_deref(), Some(ROLE));
    // A real TokenRequest JWT for the ServiceAccount, audience sts.amazonaws.com.
    let jwt = get("WebIdentityToken").expect("token sent");
    let claims = jwt.split('.').nth(1).expect("JWT payload");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], serde_json::json!(["sts.amazonaws.com"]));
    assert_eq!(claims["sub"], "system:serviceaccount:ns:eso-aws");

    let identity = provider.caller_identity().await.unwrap();
    assert!(identity.contains("assumed-role/eso-web/"), "{identity}");
}

#[tokio::test]
async fn role_chaining_with_external_id_and_session_tags() {
    let moto = moto().await;
    create_secret(&sm_admin(&moto), "chained", "ok").await;
    let spec = AwsSpec {
        additional_roles: vec![
            "arn:aws:iam::123456789012:role/hop-1".into(),
            "arn:aws:iam::123456789012:role/hop-2".into(),
        ],
        role: Some("arn:aws:iam::123456789012:role/final".into()),
        external_id: Some("ext-4711".into()),
        session_tags: vec![AwsTag {
            key: "team".into(),
            value: "payments".into(),
        }],
        transitive_tag_keys: vec!["team".into()],
        session_tags_policy: Some(AwsSessionTagsPolicy::Simple),
        ..sm_spec()
    };
    let provider = provider(&moto, spec);
    moto.start_recording().await.unwrap();
    let value = provider
        .fetch(&FetchRequest::latest("chained"))
        .await
        .unwrap();
    assert_eq!(value.value.expose_str(), Some("ok"));

    let bodies = recorded_bodies(&moto, "AssumeRole").await;
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert!(bodies[0].contains("role%2Fhop-1"), "{}", bodies[0]);
    assert!(bodies[1].contains("role%2Fhop-2"), "{}", bodies[1]);
    assert!(bodies[2].contains("role%2Ffinal"), "{}", bodies[2]);
    // externalID and tags apply to `role` only.
    assert!(!bodies[0].contains("ExternalId") && !bodies[1].contains("ExternalId"));
    assert!(bodies[2].contains("ExternalId=ext-4711"), "{}", bodies[2]);
    for expected in [
        "team",
        "payments",
        "esoNamespace",
        "esoStoreName",
        "esoStoreKind",
    ] {
        assert!(bodies[2].contains(expected), "{expected} in {}", bodies[2]);
    }
    assert!(
        bodies[2].contains("TransitiveTagKeys.member.1=team"),
        "{}",
        bodies[2]
    );

    let identity = provider.caller_identity().await.unwrap();
    assert!(identity.contains("assumed-role/final/"), "{identity}");
    // Cached: reading again assumes nothing.
    moto.reset_recording().await.unwrap();
    provider
        .fetch(&FetchRequest::latest("chained"))
        .await
        .unwrap();
    assert_eq!(count(&calls(&moto).await, "AssumeRole"), 0);
}

const CHILD_ENDPOINT: &str = "SECRETSYNC_TEST_AWS_ENDPOINT";

/// Runs in a child process whose environment has only IRSA variables (see below).
#[tokio::test]
#[ignore = "started by default_chain_uses_irsa_environment_through_the_override in a child process"]
async fn irsa_child() {
    let endpoint = std::env::var(CHILD_ENDPOINT).expect("started by the parent test");
    // The process's own credentials serve ClusterSecretStores (see identity_* below).
    let provider = AwsProvider::new(
        cluster_context(),
        AwsSpec {
            auth: AwsAuth::default(),
            ..sm_spec()
        },
        Arc::new(StaticCredentials::new()),
        AwsOptions::with_endpoint(endpoint),
    )
    .unwrap();
    let value = provider.fetch(&FetchRequest::latest("irsa")).await.unwrap();
    assert_eq!(value.value.expose_str(), Some("from-irsa"));
    let identity = provider.caller_identity().await.unwrap();
    assert!(identity.contains("assumed-role/irsa-role/"), "{identity}");
}

#[tokio::test]
async fn default_chain_uses_irsa_environment_through_the_override() {
    let moto = moto().await;
    create_secret(&sm_admin(&moto), "irsa", "from-irsa").await;
    let (_kube, resolver) = kube_with_service_account("unused").await;
    let token = secretsync_model::credentials::CredentialResolver::service_account_token(
        resolver.as_ref(),
        &secretsync_model::meta::ServiceAccountSelector {
            name: "eso-aws".into(),
            namespace: Some("ns".into()),
            audiences: vec![],
        },
        &["sts.amazonaws.com".to_string()],
        None,
    )
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("secretsync-irsa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, token.expose()).unwrap();
    moto.start_recording().await.unwrap();

    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &child_test_name("irsa_child"),
            "--ignored",
            "--nocapture",
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_STS")
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa-role")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env(CHILD_ENDPOINT, moto.endpoint())
        .output()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let calls = calls(&moto).await;
    assert_eq!(count(&calls, "AssumeRoleWithWebIdentity"), 1, "{calls:?}");
}

#[tokio::test]
async fn validate_checks_credentials_or_reports_unknown_for_referent_stores() {
    use secretsync_model::external_secret::StoreKind;
    use secretsync_model::provider::{StoreContext, StoreId, Validation};

    let moto = moto().await;
    assert_eq!(
        provider(&moto, sm_spec()).validate().await.unwrap(),
        Validation::Ready
    );

    // A ClusterSecretStore whose key references have no namespace can only be checked from an
    // ExternalSecret's namespace.
    let cluster = AwsProvider::new(
        StoreContext {
            store: StoreId {
                kind: StoreKind::ClusterSecretStore,
                namespace: None,
                name: "aws".into(),
            },
            reader_namespace: None,
        },
        sm_spec(),
        Arc::new(static_keys("AKIAEXAMPLE000000001", "x")),
        options(&moto),
    )
    .unwrap();
    assert!(matches!(
        cluster.validate().await.unwrap(),
        Validation::Unknown(_)
    ));

    // Keys moto does not know, with IAM enforcement on: validation fails as PermissionDenied.
    enable_moto_auth(&moto).await;
    let err = provider(&moto, sm_spec())
        .validate()
        .await
        .expect_err("unknown keys");
    assert!(
        matches!(err, secretsync_model::ProviderError::PermissionDenied(_)),
        "{err}"
    );
}

/// #14: a store without `auth` uses the operator's own AWS credentials, so a SecretStore
/// (written by a tenant) may not; a ClusterSecretStore may, and so may every store when the
/// options allow it (ESO's behaviour, and the CLI's).
#[test]
fn the_operators_credentials_serve_cluster_stores_only() {
    use secretsync_provider_support::AmbientIdentity;
    let ambient = AwsSpec {
        auth: AwsAuth::default(),
        ..sm_spec()
    };
    let build = |context, options| {
        AwsProvider::new(
            context,
            ambient.clone(),
            Arc::new(StaticCredentials::new()),
            options,
        )
    };
    let err = build(context(), AwsOptions::default()).expect_err("a SecretStore may not");
    assert!(
        matches!(err, secretsync_model::ProviderError::InvalidStoreConfig(_)),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("SecretStore ns/aws: spec.provider.aws.auth"),
        "{text}"
    );
    assert!(
        text.contains("auth.secretRef"),
        "the message names the field to set: {text}"
    );
    assert!(build(cluster_context(), AwsOptions::default()).is_ok());
    let any = AwsOptions {
        ambient_identity: AmbientIdentity::AnyStore,
        ..AwsOptions::default()
    };
    assert!(build(context(), any).is_ok());
}

/// The full libtest name of `test` in this module (`<module path>::test`), to re-run it in a
/// child process of this test binary.
fn child_test_name(test: &str) -> String {
    match module_path!().split_once("::") {
        Some((_crate, module)) => format!("{module}::{test}"),
        None => test.to_string(),
    }
}
