//! Secrets Manager read paths against moto.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use common::*;
use secretsync_model::providers::AwsSpec;
use secretsync_model::{FetchRequest, FindRequest, ProviderError, SecretProvider};
use secretsync_provider_aws::{AwsOptions, AwsProvider};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

#[tokio::test]
async fn reads_current_stage_version_id_and_binary() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    let v1 = create_secret(&sm, "app/db", r#"{"user":"a","password":"one"}"#).await;
    let v2 = sm
        .put_secret_value()
        .secret_id("app/db")
        .secret_string(r#"{"user":"a","password":"two"}"#)
        .send()
        .await
        .unwrap()
        .version_id
        .unwrap();
    sm.create_secret()
        .name("app/blob")
        .secret_binary(Blob::new(vec![0u8, 159, 146, 150, 255]))
        .send()
        .await
        .unwrap();
    let provider = provider(&moto, sm_spec());

    // Latest: AWSCURRENT, raw JSON (the engine applies `property`).
    let current = provider
        .fetch(&FetchRequest::latest("app/db"))
        .await
        .unwrap();
    assert_eq!(
        current.value.expose_str(),
        Some(r#"{"user":"a","password":"two"}"#)
    );
    assert_eq!(current.version.as_deref(), Some(v2.as_str()));

    // By stage.
    let previous = provider
        .fetch(&FetchRequest {
            key: "app/db".into(),
            version: Some("AWSPREVIOUS".into()),
            metadata: false,
        })
        .await
        .unwrap();
    assert_eq!(
        previous.value.expose_str(),
        Some(r#"{"user":"a","password":"one"}"#)
    );
    assert_eq!(previous.version.as_deref(), Some(v1.as_str()));

    // By version id.
    let by_id = provider
        .fetch(&FetchRequest {
            key: "app/db".into(),
            version: Some(format!("uuid/{v1}")),
            metadata: false,
        })
        .await
        .unwrap();
    assert_eq!(
        by_id.value.expose_str(),
        Some(r#"{"user":"a","password":"one"}"#)
    );

    // SecretBinary comes back as bytes.
    let blob = provider
        .fetch(&FetchRequest::latest("app/blob"))
        .await
        .unwrap();
    assert_eq!(blob.value.expose(), &[0u8, 159, 146, 150, 255]);

    // A version that does not exist is NotFound.
    let missing = provider
        .fetch(&FetchRequest {
            key: "app/db".into(),
            version: Some("uuid/00000000-0000-0000-0000-00000000dead".into()),
            metadata: false,
        })
        .await
        .expect_err("no such version");
    assert!(matches!(missing, ProviderError::NotFound(_)), "{missing}");
}

#[tokio::test]
async fn metadata_policy_fetch_returns_tags_as_json() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    sm.create_secret()
        .name("tagged")
        .secret_string("value-not-returned")
        .tags(tag("team", "payments"))
        .tags(tag("env", "prod<1>"))
        .send()
        .await
        .unwrap();
    let provider = provider(&moto, sm_spec());
    let tags = provider
        .fetch(&FetchRequest {
            key: "tagged".into(),
            version: None,
            metadata: true,
        })
        .await
        .unwrap();
    // Keys sorted, Go-style escaping, exactly what ESO returns.
    assert_eq!(
        tags.value.expose_str(),
        Some(r#"{"env":"prod\u003c1\u003e","team":"payments"}"#)
    );
}

#[tokio::test]
async fn prefix_is_prepended_to_keys_and_find() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    create_secret(&sm, "tenant-a/db", "a-db").await;
    create_secret(&sm, "tenant-a/api", "a-api").await;
    create_secret(&sm, "tenant-b/db", "b-db").await;
    let provider = provider(
        &moto,
        AwsSpec {
            prefix: Some("tenant-a/".into()),
            ..sm_spec()
        },
    );
    let db = provider.fetch(&FetchRequest::latest("db")).await.unwrap();
    assert_eq!(db.value.expose_str(), Some("a-db"));
    let found = provider
        .find(&FindRequest {
            path: None,
            name_regexp: Some(".*".into()),
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    let names: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(names, ["api", "db"]);
    assert_eq!(found["api"].value.expose_str(), Some("a-api"));
}

#[tokio::test]
async fn find_by_name_path_and_exact_tags() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    for (name, value, tags) in [
        ("team/a-db", "1", vec![("env", "prod"), ("team", "a")]),
        (
            "team/a-api",
            "2",
            vec![("env", "production"), ("team", "a")],
        ),
        ("team/b-db", "3", vec![("env", "prod"), ("team", "b")]),
        ("other/a-db", "4", vec![("env", "prod"), ("team", "a")]),
        // Key/value filters are independent at AWS: this one has a tag key "env" and a
        // value "prod", but not the pair env=prod.
        ("team/mixed", "5", vec![("env", "dev"), ("owner", "prod")]),
    ] {
        let mut req = sm.create_secret().name(name).secret_string(value);
        for (k, v) in tags {
            req = req.tags(tag(k, v));
        }
        req.send().await.unwrap();
    }
    let provider = provider(&moto, sm_spec());
    let names = |m: &BTreeMap<String, secretsync_model::RemoteSecret>| {
        m.keys().cloned().collect::<Vec<_>>()
    };

    // Name regexp across all secrets.
    let by_name = provider
        .find(&FindRequest {
            path: None,
            name_regexp: Some("a-db$".into()),
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    assert_eq!(names(&by_name), ["other/a-db", "team/a-db"]);
    assert_eq!(by_name["team/a-db"].value.expose_str(), Some("1"));

    // Path is a name prefix.
    let by_path = provider
        .find(&FindRequest {
            path: Some("team/".into()),
            name_regexp: Some("db".into()),
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    assert_eq!(names(&by_path), ["team/a-db", "team/b-db"]);

    // Tags must match exactly, as pairs ("production" is not "prod"; team/mixed has key env
    // and value prod on different tags).
    let by_tags = provider
        .find(&FindRequest {
            path: None,
            name_regexp: None,
            tags: BTreeMap::from([("env".to_string(), "prod".to_string())]),
        })
        .await
        .unwrap();
    assert_eq!(names(&by_tags), ["other/a-db", "team/a-db", "team/b-db"]);

    let by_tags_and_path = provider
        .find(&FindRequest {
            path: Some("team/".into()),
            name_regexp: None,
            tags: BTreeMap::from([
                ("env".to_string(), "prod".to_string()),
                ("team".to_string(), "a".to_string()),
            ]),
        })
        .await
        .unwrap();
    assert_eq!(names(&by_tags_and_path), ["team/a-db"]);

    // An empty find is refused with a clear message.
    let err = provider
        .find(&FindRequest {
            path: None,
            name_regexp: None,
            tags: BTreeMap::new(),
        })
        .await
        .expect_err("empty find");
    assert!(err.to_string().contains("name.regexp"), "{err}");
}

#[tokio::test]
async fn find_reads_values_in_batches() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    for i in 0..45 {
        create_secret(&sm, &format!("bulk/s{i:02}"), &format!("v{i}")).await;
    }
    let provider = provider(&moto, sm_spec());
    moto.start_recording().await.unwrap();
    let found = provider
        .find(&FindRequest {
            path: Some("bulk/".into()),
            name_regexp: None,
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 45);
    assert_eq!(found["bulk/s07"].value.expose_str(), Some("v7"));
    let calls = calls(&moto).await;
    assert_eq!(count(&calls, "ListSecrets"), 1, "{calls:?}");
    // 45 values: 20 + 20 + 5 ids.
    assert_eq!(count(&calls, "BatchGetSecretValue"), 3, "{calls:?}");
    assert_eq!(count(&calls, "GetSecretValue"), 0, "{calls:?}");
}

/// `find` is bounded: more matches than `max_find_results` fail before any value is read.
#[tokio::test]
async fn find_results_are_capped() {
    use secretsync_provider_support::ReadLimits;
    let moto = moto().await;
    let sm = sm_admin(&moto);
    for i in 0..3 {
        create_secret(&sm, &format!("capped/k{i}"), "v").await;
    }
    let limited = AwsProvider::new(
        context(),
        sm_spec(),
        Arc::new(static_keys("AKIAEXAMPLE000000001", "x")),
        AwsOptions {
            limits: ReadLimits {
                max_find_results: 2,
                ..ReadLimits::default()
            },
            ..options(&moto)
        },
    )
    .unwrap();
    let find = FindRequest {
        path: Some("capped/".into()),
        name_regexp: None,
        tags: Default::default(),
    };
    moto.start_recording().await.unwrap();
    let err = limited.find(&find).await.expect_err("three matches");
    assert!(
        err.to_string().contains("--provider-max-find-results"),
        "{err}"
    );
    let calls = calls(&moto).await;
    assert_eq!(
        count(&calls, "BatchGetSecretValue") + count(&calls, "GetSecretValue"),
        0
    );
    let found = provider(&moto, sm_spec()).find(&find).await.unwrap();
    assert_eq!(found.len(), 3, "within the default limit");
}
