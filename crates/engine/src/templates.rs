//! `spec.target.template`: ESO's `ApplyTemplate` on top of the `secretsync-template` renderer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use zeroize::{Zeroize as _, Zeroizing};

use secretsync_model::external_secret::{
    DecodingStrategy, ExternalSecretTemplate, TemplateMergePolicy, TemplateScope, TemplateTarget,
};
use secretsync_model::value::{SecretData, SecretValue};
use secretsync_template::{Budget, Context, Limits, ParseOptions, Template, TemplateError};

use crate::lru::Lru;

/// Parsed templates by (name, source), so a template is parsed once and rendered many times.
/// Bounded: when full, the least recently used template is dropped.
pub struct TemplateCache {
    options: ParseOptions,
    limits: Limits,
    parsed: Mutex<Lru<(String, u64), CachedTemplate>>,
}

struct CachedTemplate {
    /// Template sources may embed data; wiped when the entry goes.
    source: Zeroizing<String>,
    template: Arc<Template>,
}

impl TemplateCache {
    /// A cache holding at most `capacity` parsed templates (least recently used evicted),
    /// rendering with [`Limits::default`].
    pub fn new(options: ParseOptions, capacity: usize) -> Self {
        TemplateCache::with_limits(options, capacity, Limits::default())
    }

    /// [`TemplateCache::new`] with the limits every render gets.
    pub fn with_limits(options: ParseOptions, capacity: usize, limits: Limits) -> Self {
        TemplateCache {
            options,
            limits,
            parsed: Mutex::new(Lru::new(capacity)),
        }
    }

    /// A fresh budget for one render (or one ExternalSecret's renders).
    pub fn budget(&self) -> Budget {
        Budget::new(self.limits.clone())
    }

    /// Number of parsed templates held.
    pub fn len(&self) -> usize {
        crate::fetch::lock_std(&self.parsed).len()
    }

    /// Whether the cache holds no template.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parsed template for `source`, named `name` in errors.
    pub fn get(&self, name: &str, source: &str) -> Result<Arc<Template>, TemplateError> {
        use std::hash::Hasher as _;
        let mut h = crate::stable_hash::StableHasher::default();
        h.write(source.as_bytes());
        let key = (name.to_string(), h.finish());
        if let Some(c) = crate::fetch::lock_std(&self.parsed).get(&key)
            && *c.source == source
        {
            return Ok(c.template.clone());
        }
        let template = Arc::new(Template::parse(name, source, &self.options)?);
        crate::fetch::lock_std(&self.parsed).insert(
            key,
            CachedTemplate {
                source: Zeroizing::new(source.to_string()),
                template: template.clone(),
            },
        );
        Ok(template)
    }
}

/// One `templateFrom` entry with its source already read.
pub(crate) struct ResolvedTemplateFrom {
    /// Field path for errors (`spec.target.template.templateFrom[0]`).
    pub location: String,
    /// Items to render: (item key, scope, template source).
    pub items: Vec<(String, TemplateScope, String)>,
    /// Where the output goes.
    pub target: TemplateTarget,
    /// `valuesDecodingStrategy`: applied to each rendered value of this entry.
    pub decoding: DecodingStrategy,
}

/// The rendered Secret parts.
#[derive(Default)]
pub(crate) struct Rendered {
    pub data: SecretData,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// A template failure: the field and the template engine's message.
pub(crate) struct RenderFailure {
    pub location: String,
    pub message: String,
}

/// Builds ESO's template context: every value as a string (`string([]byte)` in Go; bytes
/// that are not UTF-8 are replaced by U+FFFD here).
pub(crate) fn context_of(data: &SecretData) -> Context {
    let mut ctx = Context::new();
    for (k, v) in data {
        let s = match v.expose_str() {
            Some(s) => s.to_string(),
            None => String::from_utf8_lossy(v.expose()).into_owned(),
        };
        ctx.insert(k.clone(), s);
    }
    ctx
}

/// ESO's `ApplyTemplate`: provider keys (Merge policy, or no data templates), then
/// `templateFrom` in order, then `data`, then labels and annotations, each rendered against
/// the provider data. All the templates of the ExternalSecret draw on one `budget`.
pub(crate) fn apply_template(
    template: &ExternalSecretTemplate,
    template_from: &[ResolvedTemplateFrom],
    data: &SecretData,
    cache: &TemplateCache,
    budget: &mut Budget,
) -> Result<Rendered, RenderFailure> {
    let mut out = Rendered::default();
    let metadata = template.metadata.clone().unwrap_or_default();
    let no_data_templates = template.data.is_empty() && template.template_from.is_empty();
    if template.merge_policy == TemplateMergePolicy::Merge || no_data_templates {
        out.data = data.clone();
    }
    if template.data.is_empty()
        && template.template_from.is_empty()
        && metadata.labels.is_empty()
        && metadata.annotations.is_empty()
    {
        return Ok(out);
    }
    let ctx = context_of(data);
    for from in template_from {
        for (key, scope, source) in &from.items {
            let location = format!("{}[{key:?}]", from.location);
            match scope {
                TemplateScope::Values
                    if from.target == TemplateTarget::Data
                        || from.decoding != DecodingStrategy::None =>
                {
                    let rendered = render(cache, key, source, &ctx, &location, budget)?;
                    let value = decode_rendered(from, key, rendered, &location)?;
                    put_bytes(&mut out, from.target, key.clone(), value, &location)?;
                }
                TemplateScope::Values => {
                    let rendered = render_text(cache, key, source, &ctx, &location, budget)?;
                    put(&mut out, from.target, key.clone(), rendered);
                }
                TemplateScope::KeysAndValues => {
                    // Named after its item (`literal` or the ConfigMap/Secret key), never
                    // after its source, which may hold data and would land in errors.
                    let mut rendered = render_text(cache, key, source, &ctx, &location, budget)?;
                    let map = parse_yaml_map(&rendered);
                    rendered.zeroize();
                    let map = map.map_err(|message| RenderFailure {
                        location: location.clone(),
                        message,
                    })?;
                    for (k, v) in map {
                        if from.decoding == DecodingStrategy::None {
                            put(&mut out, from.target, k, v);
                        } else {
                            let value = decode_rendered(from, &k, v.into_bytes(), &location)?;
                            put_bytes(&mut out, from.target, k, value, &location)?;
                        }
                    }
                }
            }
        }
    }
    for (key, source) in &template.data {
        let location = format!("spec.target.template.data[{key:?}]");
        let rendered = render(cache, key, source, &ctx, &location, budget)?;
        out.data.insert(key.clone(), SecretValue::new(rendered));
    }
    for (key, source) in &metadata.labels {
        let location = format!("spec.target.template.metadata.labels[{key:?}]");
        let rendered = render_text(cache, key, source, &ctx, &location, budget)?;
        out.labels.insert(key.clone(), rendered);
    }
    for (key, source) in &metadata.annotations {
        let location = format!("spec.target.template.metadata.annotations[{key:?}]");
        let rendered = render_text(cache, key, source, &ctx, &location, budget)?;
        out.annotations.insert(key.clone(), rendered);
    }
    Ok(out)
}

/// Renders to bytes, for Secret data (a template may produce binary data, as in Go).
fn render(
    cache: &TemplateCache,
    name: &str,
    source: &str,
    ctx: &Context,
    location: &str,
    budget: &mut Budget,
) -> Result<Vec<u8>, RenderFailure> {
    let failure = |e: TemplateError| RenderFailure {
        location: location.to_string(),
        message: e.to_string(),
    };
    let template = cache.get(name, source).map_err(failure)?;
    template.render_with(ctx, budget).map_err(failure)
}

/// Renders to UTF-8 text, for labels, annotations and `KeysAndValues` YAML.
fn render_text(
    cache: &TemplateCache,
    name: &str,
    source: &str,
    ctx: &Context,
    location: &str,
    budget: &mut Budget,
) -> Result<String, RenderFailure> {
    let failure = |e: TemplateError| RenderFailure {
        location: location.to_string(),
        message: e.to_string(),
    };
    let template = cache.get(name, source).map_err(failure)?;
    template.render_string_with(ctx, budget).map_err(failure)
}

/// ESO's `valuesDecodingStrategy`: decodes one rendered value of a `templateFrom` entry.
/// Errors name the key and the decoder's reason, never the value.
fn decode_rendered(
    from: &ResolvedTemplateFrom,
    key: &str,
    mut rendered: Vec<u8>,
    location: &str,
) -> Result<Vec<u8>, RenderFailure> {
    if from.decoding == DecodingStrategy::None {
        return Ok(rendered);
    }
    let decoded = crate::values::decode::decode(from.decoding, &rendered);
    rendered.iter_mut().for_each(|b| *b = 0);
    decoded.map_err(|e| RenderFailure {
        location: location.to_string(),
        message: format!("valuesDecodingStrategy: rendered value of key {key:?}: {e}"),
    })
}

/// Puts a rendered value: bytes for Secret data, UTF-8 text for labels and annotations.
fn put_bytes(
    out: &mut Rendered,
    target: TemplateTarget,
    key: String,
    value: Vec<u8>,
    location: &str,
) -> Result<(), RenderFailure> {
    if target == TemplateTarget::Data {
        out.data.insert(key, SecretValue::new(value));
        return Ok(());
    }
    let text = String::from_utf8(value).map_err(|e| {
        let mut bytes = e.into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        RenderFailure {
            location: location.to_string(),
            message: format!("the value of {target:?} key {key:?} is not UTF-8 text"),
        }
    })?;
    put(out, target, key, text);
    Ok(())
}

fn put(out: &mut Rendered, target: TemplateTarget, key: String, value: String) {
    match target {
        TemplateTarget::Data => {
            out.data.insert(key, SecretValue::from(value));
        }
        TemplateTarget::Labels => {
            out.labels.insert(key, value);
        }
        TemplateTarget::Annotations => {
            out.annotations.insert(key, value);
        }
    }
}

/// `KeysAndValues` output: a YAML map of strings (ESO unmarshals into `map[string]string`).
/// Strings are moved out of the parsed document, not copied.
fn parse_yaml_map(text: &str) -> Result<BTreeMap<String, String>, String> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|_| {
        "could not unmarshal the rendered KeysAndValues template as a YAML map of strings"
            .to_string()
    })?;
    let serde_yaml::Value::Mapping(map) = value else {
        return Err("the rendered KeysAndValues template is not a YAML map".into());
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let key = scalar_string(k).ok_or("a KeysAndValues key is not a string")?;
        let value = match v {
            serde_yaml::Value::Null => String::new(),
            other => scalar_string(other)
                .ok_or_else(|| format!("the value of KeysAndValues key {key:?} is not a string"))?,
        };
        out.insert(key, value);
    }
    Ok(out)
}

fn scalar_string(v: serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use secretsync_model::external_secret::TemplateFrom;

    use super::*;

    #[test]
    fn the_cache_evicts_the_least_recently_used_template() {
        let cache = TemplateCache::new(ParseOptions::default(), 2);
        let a = cache.get("a", "{{ 1 }}").unwrap();
        let b = cache.get("b", "{{ 2 }}").unwrap();
        assert!(
            Arc::ptr_eq(&a, &cache.get("a", "{{ 1 }}").unwrap()),
            "a is cached"
        );
        cache.get("c", "{{ 3 }}").unwrap();
        assert_eq!(cache.len(), 2);
        assert!(
            Arc::ptr_eq(&a, &cache.get("a", "{{ 1 }}").unwrap()),
            "a was used last"
        );
        assert!(
            !Arc::ptr_eq(&b, &cache.get("b", "{{ 2 }}").unwrap()),
            "b was evicted"
        );
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_keys_and_values_template_is_named_after_its_item_never_its_source() {
        let canary = "canary-7b2e-source";
        let source = format!("k: {canary}\n{{{{ .missing }}}}");
        let resolved = vec![ResolvedTemplateFrom {
            location: "spec.target.template.templateFrom[0]".into(),
            items: vec![(
                "literal".into(),
                TemplateScope::KeysAndValues,
                source.clone(),
            )],
            target: TemplateTarget::Data,
            decoding: DecodingStrategy::None,
        }];
        let template = ExternalSecretTemplate {
            template_from: vec![TemplateFrom {
                literal: Some(source),
                ..Default::default()
            }],
            ..Default::default()
        };
        let cache = TemplateCache::new(ParseOptions::default(), 8);
        let mut budget = cache.budget();
        let failure = apply_template(
            &template,
            &resolved,
            &SecretData::new(),
            &cache,
            &mut budget,
        )
        .err()
        .expect("the template fails");
        assert!(
            failure.message.starts_with("template: literal:"),
            "{}",
            failure.message
        );
        assert!(!failure.message.contains(canary), "{}", failure.message);
    }

    #[test]
    fn the_templates_of_one_external_secret_share_one_budget() {
        let template = ExternalSecretTemplate {
            data: [
                ("a".to_string(), "{{ range 600 }}{{ end }}".to_string()),
                ("b".to_string(), "{{ range 600 }}{{ end }}".to_string()),
            ]
            .into(),
            ..Default::default()
        };
        let cache = TemplateCache::with_limits(
            ParseOptions::default(),
            8,
            Limits {
                max_steps: 1_000,
                ..Limits::default()
            },
        );
        let mut budget = cache.budget();
        let failure = apply_template(&template, &[], &SecretData::new(), &cache, &mut budget)
            .err()
            .expect("the second template runs out of steps");
        assert!(failure.location.contains("\"b\""), "{}", failure.location);
        assert!(
            failure.message.contains("1000 evaluation steps"),
            "{}",
            failure.message
        );
    }
}
