use std::collections::BTreeMap;

use super::*;
use secretsync_model::push_secret::PushSecretMatch;
use secretsync_template::ParseOptions;

use crate::templates::TemplateCache;
use secretsync_model::external_secret::ExternalSecretTemplate;

fn entry(secret_key: Option<&str>, remote_key: &str, property: Option<&str>) -> PushSecretData {
    PushSecretData {
        match_: PushSecretMatch {
            secret_key: secret_key.map(str::to_string),
            remote_ref: PushSecretRemoteRef {
                remote_key: remote_key.into(),
                property: property.map(str::to_string),
            },
        },
        ..PushSecretData::default()
    }
}

fn data(pairs: &[(&str, &[u8])]) -> SecretData {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), SecretValue::new(v.to_vec())))
        .collect()
}

fn synced(stores: &[(&str, &[PushSecretData])]) -> SyncedPushSecretsMap {
    stores
        .iter()
        .map(|(s, entries)| {
            (
                s.to_string(),
                entries
                    .iter()
                    .map(|e| (status_key(&e.match_.remote_ref), e.clone()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn keys_as_eso_writes_them() {
    assert_eq!(
        store_key(StoreKind::SecretStore, "vault"),
        "SecretStore/vault"
    );
    assert_eq!(
        parse_store_key("ClusterSecretStore/aws"),
        Some((StoreKind::ClusterSecretStore, "aws"))
    );
    assert_eq!(parse_store_key("Other/x"), None);
    assert_eq!(parse_store_key("SecretStore/"), None);
    assert_eq!(status_key(&entry(None, "db", None).match_.remote_ref), "db");
    assert_eq!(
        status_key(&entry(None, "db", Some("pw")).match_.remote_ref),
        "db/pw"
    );
}

#[test]
fn reverse_unicode_keys() {
    let cases = [
        (PushSecretConversionStrategy::None, "a_U002e_b", "a_U002e_b"),
        (
            PushSecretConversionStrategy::ReverseUnicode,
            "a_U002e_b",
            "a.b",
        ),
        (
            PushSecretConversionStrategy::ReverseUnicode,
            "_U0040_x_U002f_",
            "@x/",
        ),
        (
            PushSecretConversionStrategy::ReverseUnicode,
            "_U00zz_",
            "_U00zz_",
        ),
        (
            PushSecretConversionStrategy::ReverseUnicode,
            "_U002e",
            "_U002e",
        ),
        (
            PushSecretConversionStrategy::ReverseUnicode,
            "_Ud800_",
            "_Ud800_",
        ),
        (PushSecretConversionStrategy::ReverseUnicode, "ü_U", "ü_U"),
        (
            PushSecretConversionStrategy::ReverseUnicode,
            "plain",
            "plain",
        ),
    ];
    for (strategy, input, expected) in cases {
        assert_eq!(reverse_key(strategy, input), expected, "{input}");
    }
}

#[test]
fn entries_become_values() {
    let source = data(&[("user", b"admin"), ("pw", b"s<3>&"), ("a_U002e_b", b"dot")]);
    let mut unicode = entry(Some("a.b"), "r", None);
    unicode.conversion_strategy = PushSecretConversionStrategy::ReverseUnicode;
    let planned = plan_entries(
        &[
            entry(Some("user"), "db", Some("user")),
            entry(None, "all", None),
            unicode,
        ],
        &source,
    )
    .expect("plans");
    let values: Vec<&[u8]> = planned.iter().map(|p| p.value.expose()).collect();
    assert_eq!(
        values,
        [
            &b"admin"[..],
            br#"{"a_U002e_b":"dot","pw":"s<3>&","user":"admin"}"#,
            b"dot"
        ]
    );
    assert_eq!(planned[0].remote().property(), Some("user"));
}

#[test]
fn missing_keys_and_collisions_name_the_field() {
    let source = data(&[("a", b"canary-1"), ("_U0061_", b"canary-2")]);
    let missing = plan_entries(&[entry(Some("nope"), "r", None)], &source).expect_err("missing");
    assert_eq!(missing.field, "spec.data[0].match.secretKey");
    let mut colliding = entry(Some("a"), "r", None);
    colliding.conversion_strategy = PushSecretConversionStrategy::ReverseUnicode;
    let collision =
        plan_entries(&[entry(Some("a"), "r", None), colliding], &source).expect_err("collision");
    assert_eq!(collision.field, "spec.data[1].conversionStrategy");
    for e in [missing, collision] {
        assert!(!e.to_string().contains("canary"), "{e}");
    }
}

#[test]
fn update_policy_decides_whether_existing_remotes_are_written() {
    use EntryAction::*;
    use PushSecretUpdatePolicy::*;
    let cases = [
        (Replace, None, Push),
        (IfNotExists, Some(RemoteState::Absent), Push),
        (IfNotExists, Some(RemoteState::Managed), KeepExisting),
        (IfNotExists, Some(RemoteState::Unmanaged), KeepExisting),
    ];
    for (policy, state, expected) in cases {
        assert_eq!(
            entry_action(policy, state),
            expected,
            "{policy:?} {state:?}"
        );
    }
    assert!(needs_remote_state(IfNotExists));
    assert!(!needs_remote_state(Replace));
}

#[test]
fn deletion_policy_deletes_exactly_what_is_no_longer_pushed() {
    let a = entry(Some("a"), "ra", None);
    let b = entry(Some("b"), "rb", Some("p"));
    let c = entry(Some("c"), "rc", None);
    let previous = synced(&[
        ("SecretStore/vault", &[a.clone(), b.clone()]),
        ("ClusterSecretStore/aws", std::slice::from_ref(&c)),
    ]);
    let current = synced(&[("SecretStore/vault", std::slice::from_ref(&a))]);
    let keys = |v: Vec<(String, PushSecretData)>| -> Vec<String> {
        v.iter()
            .map(|(s, e)| format!("{s}:{}", status_key(&e.match_.remote_ref)))
            .collect()
    };
    let cases: [(PushSecretDeletionPolicy, &SyncedPushSecretsMap, Vec<&str>); 4] = [
        (
            PushSecretDeletionPolicy::Delete,
            &current,
            vec!["ClusterSecretStore/aws:rc", "SecretStore/vault:rb/p"],
        ),
        (
            PushSecretDeletionPolicy::Delete,
            &BTreeMap::new(),
            vec![
                "ClusterSecretStore/aws:rc",
                "SecretStore/vault:ra",
                "SecretStore/vault:rb/p",
            ],
        ),
        (PushSecretDeletionPolicy::Delete, &previous, vec![]),
        (PushSecretDeletionPolicy::None, &BTreeMap::new(), vec![]),
    ];
    for (policy, now, expected) in cases {
        assert_eq!(
            keys(stale_entries(policy, &previous, now)),
            expected,
            "{policy:?}"
        );
    }
    let stale = stale_entries(PushSecretDeletionPolicy::Delete, &previous, &current);
    let left = without(previous.clone(), &stale);
    assert_eq!(left, current);
    let merged = merge_synced(&current, &previous);
    assert_eq!(merged, previous);
}

#[test]
fn template_data_is_laid_over_the_source() {
    let cache = TemplateCache::new(ParseOptions::default(), 16);
    let template: ExternalSecretTemplate = serde_yaml::from_str(
        "data: {url: 'postgres://{{ .user }}@db', user: '{{ .user | upper }}'}",
    )
    .expect("template");
    let out = apply_push_template(
        Some(&template),
        &PushTemplateSources::default(),
        data(&[("user", b"admin"), ("pw", b"x")]),
        &cache,
    )
    .expect("renders");
    let text: BTreeMap<&str, &str> = out
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        text,
        BTreeMap::from([
            ("pw", "x"),
            ("url", "postgres://admin@db"),
            ("user", "ADMIN")
        ])
    );
    let broken: ExternalSecretTemplate =
        serde_yaml::from_str("data: {x: '{{ .user'}").expect("template");
    let err = apply_push_template(
        Some(&broken),
        &PushTemplateSources::default(),
        data(&[("user", b"canary")]),
        &cache,
    )
    .expect_err("parse error");
    assert!(err.field.starts_with("spec.template.data"), "{err}");
    assert!(!err.to_string().contains("canary"), "{err}");
}

/// ESO's order: source keys, then `templateFrom` (ConfigMap and Secret items), then
/// `template.data`, which wins; a missing source names the field and the object.
#[tokio::test]
async fn template_from_sources_are_read_through_the_host() {
    use crate::MemoryEnvironment;
    let cache = TemplateCache::new(ParseOptions::default(), 16);
    let env = MemoryEnvironment::new()
        .with_config_map(
            "apps",
            "tpl",
            [(
                "conn",
                "dsn: 'postgres://{{ .user }}@db'\nuser: from-configmap",
            )],
        )
        .with_secret("apps", "tpl-secret", [("token", "{{ .pw | upper }}")]);
    let template: ExternalSecretTemplate = serde_yaml::from_str(
        "templateFrom:\n- configMap: {name: tpl, items: [{key: conn, templateAs: KeysAndValues}]}\n- secret: {name: tpl-secret, items: [{key: token}]}\ndata: {user: '{{ .user }}-data'}",
    )
    .expect("template");
    let sources = resolve_push_template(Some(&template), &env, "apps")
        .await
        .expect("sources");
    let out = apply_push_template(
        Some(&template),
        &sources,
        data(&[("user", b"admin"), ("pw", b"canary-tf")]),
        &cache,
    )
    .expect("renders");
    let text: BTreeMap<&str, &str> = out
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        text,
        BTreeMap::from([
            ("dsn", "postgres://admin@db"),
            ("pw", "canary-tf"),
            ("token", "CANARY-TF"),
            ("user", "admin-data"),
        ])
    );
    assert!(!format!("{sources:?}").contains("postgres"));

    let missing: ExternalSecretTemplate =
        serde_yaml::from_str("templateFrom: [{configMap: {name: nope, items: [{key: a}]}}]")
            .expect("template");
    let err = resolve_push_template(Some(&missing), &env, "apps")
        .await
        .expect_err("no such ConfigMap");
    assert_eq!(err.field, "spec.template.templateFrom[0].configMap");
    assert!(err.message.contains("\"nope\""), "{err}");
    let no_key: ExternalSecretTemplate =
        serde_yaml::from_str("templateFrom: [{secret: {name: tpl-secret, items: [{key: b}]}}]")
            .expect("template");
    let err = resolve_push_template(Some(&no_key), &env, "apps")
        .await
        .expect_err("no such key");
    assert!(err.message.contains("has no key \"b\""), "{err}");
    assert!(!err.to_string().contains("canary"), "{err}");
}
