//! `spec.target.template`: ESO's `ApplyTemplate` on top of the `secretsync-template` renderer.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use secretsync_model::external_secret::{
    DecodingStrategy, ExternalSecretTemplate, TemplateMergePolicy, TemplateScope, TemplateTarget,
};
use secretsync_model::value::{SecretData, SecretValue};
use secretsync_template::{Context, ParseOptions, Template, TemplateError};

/// Parsed templates by (name, source), so a template is parsed once and rendered many times.
pub struct TemplateCache {
    options: ParseOptions,
    parsed: Mutex<HashMap<u64, Vec<CachedTemplate>>>,
    len: std::sync::atomic::AtomicUsize,
    capacity: usize,
}

struct CachedTemplate {
    name: String,
    source: String,
    template: Arc<Template>,
}

impl TemplateCache {
    /// A cache holding at most `capacity` parsed templates (cleared when full).
    pub fn new(options: ParseOptions, capacity: usize) -> Self {
        TemplateCache {
            options,
            parsed: Mutex::new(HashMap::new()),
            len: std::sync::atomic::AtomicUsize::new(0),
            capacity: capacity.max(1),
        }
    }

    /// The parsed template for `source`, named `name` in errors.
    pub fn get(&self, name: &str, source: &str) -> Result<Arc<Template>, TemplateError> {
        use std::hash::Hasher as _;
        use std::sync::atomic::Ordering;
        let mut h = crate::stable_hash::StableHasher::default();
        h.write(name.as_bytes());
        h.write_u8(0xff);
        h.write(source.as_bytes());
        let key = h.finish();
        if let Some(bucket) = crate::fetch::lock_std(&self.parsed).get(&key)
            && let Some(c) = bucket.iter().find(|c| c.name == name && c.source == source)
        {
            return Ok(c.template.clone());
        }
        let template = Arc::new(Template::parse(name, source, &self.options)?);
        let mut parsed = crate::fetch::lock_std(&self.parsed);
        if self.len.load(Ordering::Relaxed) >= self.capacity {
            parsed.clear();
            self.len.store(0, Ordering::Relaxed);
        }
        parsed.entry(key).or_default().push(CachedTemplate {
            name: name.to_string(),
            source: source.to_string(),
            template: template.clone(),
        });
        self.len.fetch_add(1, Ordering::Relaxed);
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
/// the provider data.
pub(crate) fn apply_template(
    template: &ExternalSecretTemplate,
    template_from: &[ResolvedTemplateFrom],
    data: &SecretData,
    cache: &TemplateCache,
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
                    let rendered = render(cache, key, source, &ctx, &location)?;
                    let value = decode_rendered(from, key, rendered, &location)?;
                    put_bytes(&mut out, from.target, key.clone(), value, &location)?;
                }
                TemplateScope::Values => {
                    let rendered = render_text(cache, key, source, &ctx, &location)?;
                    put(&mut out, from.target, key.clone(), rendered);
                }
                TemplateScope::KeysAndValues => {
                    let rendered = render_text(cache, source, source, &ctx, &location)?;
                    let map: BTreeMap<String, String> =
                        parse_yaml_map(&rendered).map_err(|message| RenderFailure {
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
        let rendered = render(cache, key, source, &ctx, &location)?;
        out.data.insert(key.clone(), SecretValue::new(rendered));
    }
    for (key, source) in &metadata.labels {
        let location = format!("spec.target.template.metadata.labels[{key:?}]");
        let rendered = render_text(cache, key, source, &ctx, &location)?;
        out.labels.insert(key.clone(), rendered);
    }
    for (key, source) in &metadata.annotations {
        let location = format!("spec.target.template.metadata.annotations[{key:?}]");
        let rendered = render_text(cache, key, source, &ctx, &location)?;
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
) -> Result<Vec<u8>, RenderFailure> {
    let failure = |e: TemplateError| RenderFailure {
        location: location.to_string(),
        message: e.to_string(),
    };
    let template = cache.get(name, source).map_err(failure)?;
    template.render(ctx).map_err(failure)
}

/// Renders to UTF-8 text, for labels, annotations and `KeysAndValues` YAML.
fn render_text(
    cache: &TemplateCache,
    name: &str,
    source: &str,
    ctx: &Context,
    location: &str,
) -> Result<String, RenderFailure> {
    let failure = |e: TemplateError| RenderFailure {
        location: location.to_string(),
        message: e.to_string(),
    };
    let template = cache.get(name, source).map_err(failure)?;
    template.render_string(ctx).map_err(failure)
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
        let key = scalar_string(&k).ok_or("a KeysAndValues key is not a string")?;
        let value = match v {
            serde_yaml::Value::Null => String::new(),
            other => scalar_string(&other)
                .ok_or_else(|| format!("the value of KeysAndValues key {key:?} is not a string"))?,
        };
        out.insert(key, value);
    }
    Ok(out)
}

fn scalar_string(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
