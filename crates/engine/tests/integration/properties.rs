//! Property tests: round-trips, determinism, no panics on arbitrary input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::{MemoryFactory, env_for};
use proptest::prelude::*;
use secretsync_engine::templates::TemplateCache;
use secretsync_engine::values::{convert_key, decode, extract_map, lookup_property};
use secretsync_engine::{Engine, EngineConfig};
use secretsync_model::external_secret::{
    ConversionStrategy, DecodingStrategy, ExternalSecret, Rewrite, RewriteMerge, RewriteRegexp,
};
use secretsync_model::validate::is_valid_secret_key;
use secretsync_model::value::{SecretData, SecretValue};

const STRATEGIES: [DecodingStrategy; 4] = [
    DecodingStrategy::None,
    DecodingStrategy::Base64,
    DecodingStrategy::Base64Url,
    DecodingStrategy::Auto,
];

proptest! {
    #[test]
    fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let std = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let url = base64::engine::general_purpose::URL_SAFE.encode(&bytes);
        prop_assert_eq!(decode(DecodingStrategy::Base64, std.as_bytes()).unwrap(), bytes.clone());
        prop_assert_eq!(decode(DecodingStrategy::Base64Url, url.as_bytes()).unwrap(), bytes.clone());
        prop_assert_eq!(decode(DecodingStrategy::Auto, std.as_bytes()).unwrap(), bytes.clone());
        prop_assert_eq!(decode(DecodingStrategy::None, std.as_bytes()).unwrap(), std.as_bytes().to_vec());
    }

    #[test]
    fn decoding_never_panics_and_auto_never_fails(input in proptest::collection::vec(any::<u8>(), 0..100)) {
        for s in STRATEGIES {
            let _ = decode(s, &input);
        }
        prop_assert!(decode(DecodingStrategy::Auto, &input).is_ok());
    }

    #[test]
    fn default_conversion_of_ascii_gives_valid_keys(key in "[ -~]{1,100}") {
        let converted = convert_key(ConversionStrategy::Default, &key);
        prop_assert!(is_valid_secret_key(&converted), "{:?} -> {:?}", key, converted);
        prop_assert_eq!(converted.chars().count(), key.chars().count());
    }

    #[test]
    fn unicode_conversion_keeps_valid_keys_and_is_injective_on_invalid_chars(a in "[a-z/@#]{1,20}", b in "[a-z/@#]{1,20}") {
        let ca = convert_key(ConversionStrategy::Unicode, &a);
        let cb = convert_key(ConversionStrategy::Unicode, &b);
        prop_assert!(is_valid_secret_key(&ca));
        if a != b { prop_assert_ne!(ca, cb); }
        // keys that are already valid are unchanged
        let valid = a.replace(['/', '@', '#'], "-");
        prop_assert_eq!(convert_key(ConversionStrategy::Unicode, &valid), valid);
    }

    #[test]
    fn property_lookup_and_extract_never_panic(doc in ".{0,200}", prop in ".{0,40}") {
        let _ = lookup_property(doc.as_bytes(), &prop);
        let _ = extract_map(doc.as_bytes());
    }

    #[test]
    fn literal_keys_are_found(map in proptest::collection::btree_map("[a-z.]{1,10}", "[ -~]{0,20}", 1..8)) {
        let doc = serde_json::to_string(&map).unwrap();
        for (k, v) in &map {
            prop_assert_eq!(lookup_property(doc.as_bytes(), k).unwrap(), v.as_bytes().to_vec());
        }
        let extracted = extract_map(doc.as_bytes()).unwrap();
        prop_assert_eq!(extracted.len(), map.len());
    }

    #[test]
    fn rewrites_never_panic(
        keys in proptest::collection::btree_map("[ -~]{0,12}", "[ -~]{0,12}", 0..6),
        source in ".{0,12}",
        target in ".{0,12}",
        into in "[a-z]{0,5}",
    ) {
        let data: SecretData = keys.iter().map(|(k, v)| (k.clone(), SecretValue::from(v.as_str()))).collect();
        let cache = TemplateCache::new(Default::default(), 8);
        let ops = vec![
            Rewrite { regexp: Some(RewriteRegexp { source, target }), ..Default::default() },
            Rewrite { merge: Some(RewriteMerge { into, ..Default::default() }), ..Default::default() },
        ];
        let _ = secretsync_engine::rewrite::rewrite_map(&ops, data, &cache);
    }

    #[test]
    fn periodic_refresh_is_due_within_the_interval(
        key in ".{0,30}",
        last in 0u64..4_000_000_000,
        interval in 1u64..100_000,
        jitter in 0.0f64..1.0,
    ) {
        use secretsync_engine::refresh::{RefreshInputs, next_refresh_in, refresh_lead};
        use secretsync_model::external_secret::RefreshPolicy;
        let last = SystemTime::UNIX_EPOCH + Duration::from_secs(last);
        let interval = Duration::from_secs(interval);
        let inputs = RefreshInputs {
            policy: RefreshPolicy::Periodic,
            interval,
            synced_resource_version: Some("1-x".into()),
            current_resource_version: "1-x".into(),
            refresh_time: Some(last),
            now: last,
            lead: refresh_lead(&key, interval, jitter),
            settle: Duration::ZERO,
            windows: secretsync_engine::sync_windows::SyncWindowPolicy::unconstrained(),
        };
        let due = next_refresh_in(&inputs).unwrap();
        prop_assert!(due <= interval && due >= interval / 2);
    }
}

fn sync_once(remote: &BTreeMap<String, String>, es: &ExternalSecret) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let f = MemoryFactory::default();
        for (k, v) in remote {
            f.set(k, v);
        }
        let engine = Engine::new(Arc::new(f.factory()), EngineConfig::default());
        let out = engine.sync(es, &env_for([es])).await;
        match out.result {
            Ok(r) => format!(
                "{:?}",
                r.desired().map(|d| d
                    .data
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_vec()))
                    .collect::<Vec<_>>())
            ),
            Err(e) => format!("error: {e}"),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn engine_output_is_deterministic_and_total(
        remote in proptest::collection::btree_map("[a-z/]{1,8}", ".{0,30}", 1..6),
        regexp in "[a-z/().*]{0,6}",
        decoding in 0usize..4,
    ) {
        let strategy = ["None", "Base64", "Base64URL", "Auto"][decoding];
        let es: ExternalSecret = serde_yaml::from_str(&format!(r#"
metadata: {{name: p, namespace: ns}}
spec:
  secretStoreRef: {{name: s}}
  dataFrom:
    - find: {{name: {{regexp: "."}}, decodingStrategy: {strategy}}}
      rewrite: [{{regexp: {{source: {regexp:?}, target: "x"}}}}]
    - find: {{name: {{regexp: "."}}, conversionStrategy: Unicode}}
"#)).unwrap();
        let a = sync_once(&remote, &es);
        let b = sync_once(&remote, &es);
        prop_assert_eq!(a, b);
    }
}
