//! The `STSSessionToken` and `ECRAuthorizationToken` generators against moto: ESO's output
//! keys, credentials from the spec's `auth` (static keys from a Secret, then `role`), ESO's
//! refusals, and no value in errors. One moto for the whole binary's single test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use secretsync_model::generator::{
    EcrAuthorizationTokenSpec, GenerateRequest, Generated, Generator, GeneratorSpec,
    StsRequestParameters, StsSessionTokenSpec,
};
use secretsync_model::providers::{AwsAuth, AwsJwtAuth};
use secretsync_model::{ProviderError, SecretData};
use secretsync_provider_aws::{EcrAuthorizationTokenGenerator, StsSessionTokenGenerator};

async fn generate(
    generator: &dyn Generator,
    spec: GeneratorSpec,
) -> Result<Generated, ProviderError> {
    let request = GenerateRequest {
        spec: &spec,
        namespace: "ns",
        context: context(),
        credentials: Arc::new(static_keys("AKIAEXAMPLE000000001", "static-secret-key")),
    };
    generator.generate(&request).await
}

fn text(data: &SecretData, key: &str) -> String {
    data[key].expose_str().unwrap().to_string()
}

fn keys(data: &SecretData) -> Vec<&str> {
    data.keys().map(String::as_str).collect()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn sts_session_tokens_and_ecr_authorization_tokens_from_moto() {
    let moto = moto().await;
    let sts = StsSessionTokenGenerator::new(options(&moto));
    let ecr = EcrAuthorizationTokenGenerator::new(options(&moto));
    let sts_spec = |duration| {
        GeneratorSpec::StsSessionToken(Box::new(StsSessionTokenSpec {
            region: REGION.into(),
            auth: secret_ref_auth(),
            request_parameters: Some(StsRequestParameters {
                session_duration: duration,
                ..Default::default()
            }),
            ..Default::default()
        }))
    };
    moto.start_recording().await.unwrap();

    // STS: ESO's keys, a session of the requested length
    let first = generate(&sts, sts_spec(Some(900))).await.unwrap();
    assert_eq!(
        keys(&first.data),
        [
            "access_key_id",
            "expiration",
            "secret_access_key",
            "session_token"
        ]
    );
    assert!(first.state.is_none(), "nothing to clean up");
    let expiration: i64 = text(&first.data, "expiration").parse().unwrap();
    assert!(
        (now() + 800..=now() + 1000).contains(&expiration),
        "expiration {expiration} is about 900 s from now"
    );
    // without requestParameters STS's default (12 h) applies: the parameter was passed
    let second = generate(&sts, sts_spec(None)).await.unwrap();
    let default_expiration: i64 = text(&second.data, "expiration").parse().unwrap();
    assert!(
        default_expiration > now() + 40_000,
        "{default_expiration}: the 12 h default"
    );
    assert!(!text(&first.data, "access_key_id").is_empty());

    // ECR: the token split into username and password, the endpoint, the expiry
    let ecr_spec = |scope: &str| {
        GeneratorSpec::EcrAuthorizationToken(Box::new(EcrAuthorizationTokenSpec {
            region: REGION.into(),
            auth: secret_ref_auth(),
            scope: scope.into(),
            ..Default::default()
        }))
    };
    let token = generate(&ecr, ecr_spec("")).await.unwrap();
    assert_eq!(
        keys(&token.data),
        ["expires_at", "password", "proxy_endpoint", "username"]
    );
    assert_eq!(text(&token.data, "username"), "AWS");
    assert!(!text(&token.data, "password").is_empty());
    assert!(
        text(&token.data, "proxy_endpoint").starts_with("https://"),
        "{}",
        text(&token.data, "proxy_endpoint")
    );
    let expires_at: i64 = text(&token.data, "expires_at").parse().unwrap();
    // moto's fixed expiry, 2015-01-01T00:00:00Z, as Unix seconds (ESO's format)
    assert_eq!(expires_at, 1_420_070_400);

    // the calls went to moto's STS and ECR, signed with the Secret's keys
    let recorded = calls(&moto).await;
    assert_eq!(count(&recorded, "GetSessionToken"), 2, "{recorded:?}");
    assert_eq!(count(&recorded, "GetAuthorizationToken"), 1, "{recorded:?}");

    // refusals name the field; no error quotes a value
    let jwt = GeneratorSpec::StsSessionToken(Box::new(StsSessionTokenSpec {
        region: REGION.into(),
        auth: AwsAuth {
            jwt: Some(AwsJwtAuth::default()),
            secret_ref: None,
        },
        ..Default::default()
    }));
    let public = ecr_spec("public");
    let bad_region = GeneratorSpec::EcrAuthorizationToken(Box::new(EcrAuthorizationTokenSpec {
        region: "mars".into(),
        ..Default::default()
    }));
    for (generator, spec, field) in [
        (&sts as &dyn Generator, jwt, "spec.auth.jwt"),
        (&ecr, public, "spec.scope"),
        (&ecr, bad_region, "spec.region"),
    ] {
        let err = generate(generator, spec)
            .await
            .expect_err(field)
            .to_string();
        assert!(err.contains(field), "{err}");
    }
    // Debug never shows a generated value
    let debug = format!("{first:?}{token:?}");
    for value in [
        text(&first.data, "session_token"),
        text(&first.data, "secret_access_key"),
        text(&token.data, "password"),
    ] {
        assert!(!debug.contains(&value), "Debug shows a value");
    }
}
