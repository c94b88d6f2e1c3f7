//! Golden tests: ESO documentation and ESO unit-test examples, each citing its source, with the
//! documented output compared byte for byte. Cases live in `tests/golden/*.yaml`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use common::{MemoryFactory, env_for};
use secretsync_engine::templates::TemplateCache;
use secretsync_engine::{Engine, EngineConfig, SyncResult};
use secretsync_model::external_secret::{ExternalSecret, Rewrite};
use secretsync_model::value::{SecretData, SecretValue};
use serde::Deserialize;

#[derive(Deserialize)]
struct GoldenFile {
    /// The document or file the cases come from.
    source: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    /// Where in the source (section, snippet, test name).
    cite: String,
    #[serde(default)]
    note: Option<String>,
    /// Remote values by key (engine cases).
    #[serde(default)]
    remote: BTreeMap<String, String>,
    /// Remote values given in base64 (binary values).
    #[serde(default)]
    remote_base64: BTreeMap<String, String>,
    /// Tags per remote key, for `find.tags`.
    #[serde(default)]
    tags: BTreeMap<String, BTreeMap<String, String>>,
    /// ConfigMaps for templateFrom, by name.
    #[serde(default)]
    config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secrets for templateFrom, by name.
    #[serde(default)]
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// The ExternalSecret (engine cases).
    #[serde(default)]
    external_secret: Option<serde_yaml::Value>,
    /// Rewrite operations applied to `input` (rewrite-only cases, like ESO's unit tests).
    #[serde(default)]
    rewrite: Option<Vec<Rewrite>>,
    #[serde(default)]
    input: BTreeMap<String, String>,
    expect: Expect,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Expect {
    /// Expected data as UTF-8 strings.
    #[serde(default)]
    data: Option<BTreeMap<String, String>>,
    /// Expected data in base64, as ESO's docs show Secrets.
    #[serde(default)]
    data_base64: Option<BTreeMap<String, String>>,
    /// Expected Secret type.
    #[serde(default, rename = "type")]
    type_: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    /// The sync must fail with a message containing this text.
    #[serde(default)]
    error: Option<String>,
}

fn expected_data(e: &Expect) -> Option<BTreeMap<String, Vec<u8>>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    match (&e.data, &e.data_base64) {
        (Some(d), None) => Some(
            d.iter()
                .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
                .collect(),
        ),
        (None, Some(d)) => Some(
            d.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        b64.decode(v).expect("valid base64 in golden file"),
                    )
                })
                .collect(),
        ),
        (None, None) => None,
        (Some(_), Some(_)) => panic!("use data or dataBase64, not both"),
    }
}

fn bytes_of(data: &SecretData) -> BTreeMap<String, Vec<u8>> {
    data.iter()
        .map(|(k, v)| (k.clone(), v.expose().to_vec()))
        .collect()
}

fn show(data: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    data.iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

async fn run_case(file: &str, case: &Case) -> Result<(), String> {
    let label = format!("{file}: {} ({})", case.name, case.cite);
    if let Some(ops) = &case.rewrite {
        let input: SecretData = case
            .input
            .iter()
            .map(|(k, v)| (k.clone(), SecretValue::from(v.as_str())))
            .collect();
        let cache = TemplateCache::new(Default::default(), 16);
        let result = secretsync_engine::rewrite::rewrite_map(ops, input, &cache);
        return check(&label, &case.expect, result.map(|d| (bytes_of(&d), None)));
    }
    let factory = MemoryFactory::default();
    for (k, v) in &case.remote {
        factory.set(k, v);
    }
    for (k, v) in &case.remote_base64 {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v)
            .expect("base64 remote");
        factory.set(
            k,
            std::str::from_utf8(&bytes).expect("utf-8 remote values only"),
        );
    }
    factory.remote.lock().unwrap().tags = case.tags.clone();
    let es_value = case
        .external_secret
        .clone()
        .ok_or_else(|| format!("{label}: no externalSecret"))?;
    let mut es: ExternalSecret = serde_yaml::from_value(es_value)
        .map_err(|e| format!("{label}: bad ExternalSecret: {e}"))?;
    if es.metadata.namespace.is_none() {
        es.metadata.namespace = Some("default".into());
    }
    let engine = Engine::new(Arc::new(factory.factory()), EngineConfig::default());
    let namespace = es.metadata.namespace.clone().unwrap_or_default();
    let mut env = env_for([&es]);
    for (name, data) in &case.config_maps {
        env = env.with_config_map(namespace.clone(), name.clone(), data.clone());
    }
    for (name, data) in &case.secrets {
        env = env.with_secret(namespace.clone(), name.clone(), data.clone());
    }
    let outcome = engine.sync(&es, &env).await;
    let result = match outcome.result {
        Ok(SyncResult::Write(d)) => Ok((bytes_of(&d.data), Some(d))),
        Ok(other) => Err(format!("no write: {other:?}")),
        Err(e) => Err(e.to_string()),
    };
    check(&label, &case.expect, result)
}

type Produced = (
    BTreeMap<String, Vec<u8>>,
    Option<secretsync_engine::DesiredSecret>,
);

fn check(label: &str, expect: &Expect, result: Result<Produced, String>) -> Result<(), String> {
    match (&expect.error, result) {
        (Some(want), Err(got)) => {
            if got.contains(want.as_str()) {
                Ok(())
            } else {
                Err(format!("{label}: error {got:?} does not contain {want:?}"))
            }
        }
        (Some(want), Ok((data, _))) => Err(format!(
            "{label}: expected error {want:?}, got data {:?}",
            show(&data)
        )),
        (None, Err(got)) => Err(format!("{label}: unexpected error: {got}")),
        (None, Ok((data, desired))) => {
            if let Some(want) = expected_data(expect)
                && want != data
            {
                return Err(format!(
                    "{label}:\n  want {:?}\n  got  {:?}",
                    show(&want),
                    show(&data)
                ));
            }
            if let Some(d) = desired {
                if let Some(t) = &expect.type_
                    && *t != d.type_
                {
                    return Err(format!("{label}: type {} != {}", d.type_, t));
                }
                if let Some(l) = &expect.labels
                    && *l != d.labels
                {
                    return Err(format!("{label}: labels {:?} != {:?}", d.labels, l));
                }
                if let Some(a) = &expect.annotations
                    && *a != d.annotations
                {
                    return Err(format!(
                        "{label}: annotations {:?} != {:?}",
                        d.annotations, a
                    ));
                }
            }
            Ok(())
        }
    }
}

#[tokio::test]
async fn golden_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden files in {}", dir.display());
    let mut failures = Vec::new();
    let mut count = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let file: GoldenFile = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: invalid golden file: {e}"));
        assert!(!file.source.is_empty(), "{name}: cite the source");
        for case in &file.cases {
            assert!(
                !case.cite.is_empty(),
                "{name}: {}: cite where the case comes from",
                case.name
            );
            let _ = &case.note;
            count += 1;
            if let Err(e) = run_case(&name, case).await {
                failures.push(e);
            }
        }
    }
    assert!(
        count >= 20,
        "expected at least 20 golden cases, found {count}"
    );
    assert!(
        failures.is_empty(),
        "{} of {count} golden cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
