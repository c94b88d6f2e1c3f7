//! Parameter Store read paths against moto.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;

use aws_sdk_ssm::types::{ParameterType, Tag};
use common::*;
use secretsync_model::providers::{AwsService, AwsSpec};
use secretsync_model::{FetchRequest, FindRequest, ProviderError, SecretProvider};

fn ps_spec() -> AwsSpec {
    AwsSpec {
        service: AwsService::ParameterStore,
        ..sm_spec()
    }
}

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str, kind: ParameterType) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .expect("put_parameter");
}

#[tokio::test]
async fn reads_latest_versions_and_decrypts() {
    let moto = moto().await;
    let ssm = ssm_admin(&moto);
    put(
        &ssm,
        "/app/db/password",
        "first",
        ParameterType::SecureString,
    )
    .await;
    put(
        &ssm,
        "/app/db/password",
        "second",
        ParameterType::SecureString,
    )
    .await;
    put(
        &ssm,
        "/app/db/password",
        "third",
        ParameterType::SecureString,
    )
    .await;
    let provider = provider(&moto, ps_spec());

    let latest = provider
        .fetch(&FetchRequest::latest("/app/db/password"))
        .await
        .unwrap();
    assert_eq!(latest.value.expose_str(), Some("third"), "decrypted latest");
    assert_eq!(latest.version.as_deref(), Some("3"));

    for (version, expected) in [("1", "first"), ("2", "second")] {
        let old = provider
            .fetch(&FetchRequest {
                key: "/app/db/password".into(),
                version: Some(version.into()),
                metadata: false,
            })
            .await
            .unwrap();
        assert_eq!(old.value.expose_str(), Some(expected), "version {version}");
        assert_eq!(old.version.as_deref(), Some(version));
    }

    let err = provider
        .fetch(&FetchRequest {
            key: "/app/db/password".into(),
            version: Some("9".into()),
            metadata: false,
        })
        .await
        .expect_err("no version 9");
    assert!(matches!(err, ProviderError::NotFound(_)), "{err}");

    let err = provider
        .fetch(&FetchRequest::latest("/app/missing"))
        .await
        .expect_err("missing");
    assert!(matches!(err, ProviderError::NotFound(_)), "{err}");
    assert!(err.to_string().contains("/app/missing"), "{err}");
}

#[tokio::test]
async fn metadata_and_prefix() {
    let moto = moto().await;
    let ssm = ssm_admin(&moto);
    ssm.put_parameter()
        .name("/prod/api/key")
        .value("k")
        .r#type(ParameterType::String)
        .tags(Tag::builder().key("owner").value("team-a").build().unwrap())
        .send()
        .await
        .unwrap();
    let provider = provider(
        &moto,
        AwsSpec {
            prefix: Some("/prod".into()),
            ..ps_spec()
        },
    );
    let value = provider
        .fetch(&FetchRequest::latest("/api/key"))
        .await
        .unwrap();
    assert_eq!(value.value.expose_str(), Some("k"));
    let tags = provider
        .fetch(&FetchRequest {
            key: "/api/key".into(),
            version: None,
            metadata: true,
        })
        .await
        .unwrap();
    assert_eq!(tags.value.expose_str(), Some(r#"{"owner":"team-a"}"#));
}

#[tokio::test]
async fn find_by_path_name_and_tags() {
    let moto = moto().await;
    let ssm = ssm_admin(&moto);
    for (name, value, team) in [
        ("/svc/a/one", "1", "a"),
        ("/svc/a/two", "2", "a"),
        ("/svc/a/deep/three", "3", "b"),
        ("/svc/b/one", "4", "a"),
        ("/other/one", "5", "a"),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .tags(Tag::builder().key("team").value(team).build().unwrap())
            .send()
            .await
            .unwrap();
    }
    let provider = provider(&moto, ps_spec());
    let names = |m: &BTreeMap<String, secretsync_model::RemoteSecret>| {
        m.keys().cloned().collect::<Vec<_>>()
    };

    moto.start_recording().await.unwrap();
    let by_path = provider
        .find(&FindRequest {
            path: Some("/svc/a".into()),
            name_regexp: None,
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        names(&by_path),
        ["/svc/a/deep/three", "/svc/a/one", "/svc/a/two"],
        "recursive"
    );
    assert_eq!(
        by_path["/svc/a/deep/three"].value.expose_str(),
        Some("3"),
        "decrypted"
    );
    let calls = calls(&moto).await;
    assert_eq!(count(&calls, "GetParametersByPath"), 1, "{calls:?}");
    assert_eq!(count(&calls, "GetParameter"), 0, "{calls:?}");

    let by_path_and_name = provider
        .find(&FindRequest {
            path: Some("/svc".into()),
            name_regexp: Some("one$".into()),
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    assert_eq!(names(&by_path_and_name), ["/svc/a/one", "/svc/b/one"]);

    let by_name = provider
        .find(&FindRequest {
            path: None,
            name_regexp: Some("^/other/".into()),
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    assert_eq!(names(&by_name), ["/other/one"]);

    let by_tags = provider
        .find(&FindRequest {
            path: Some("/svc".into()),
            name_regexp: None,
            tags: BTreeMap::from([("team".to_string(), "a".to_string())]),
        })
        .await
        .unwrap();
    assert_eq!(names(&by_tags), ["/svc/a/one", "/svc/a/two", "/svc/b/one"]);
    assert_eq!(by_tags["/svc/b/one"].value.expose_str(), Some("4"));
}
