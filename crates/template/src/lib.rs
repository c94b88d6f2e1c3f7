//! Go `text/template` compatible template engine with ESO's function set.
//!
//! Renders `spec.target.template` of ESO ExternalSecrets (`engineVersion: v2`) the way
//! ESO's `runtime/template/v2` does: Go template syntax, `missingkey=error`, the sprig v3
//! functions minus `env`/`expandenv`/`getHostByName`, plus ESO's extras.
//!
//! ```
//! use secretsync_template::{Context, ParseOptions, Template};
//! let t = Template::parse("password", "{{ .user }}:{{ .pass | b64enc }}", &ParseOptions::default()).unwrap();
//! let mut ctx = Context::new();
//! ctx.insert("user", "admin");
//! ctx.insert("pass", "s3cret");
//! assert_eq!(t.render_string(&ctx).unwrap(), "admin:czNjcmV0");
//! ```
//!
//! Parse once, render many: [`Template`] is immutable, `Send + Sync` and cheap to share.
//!
//! # Secret hygiene
//! Every string value the engine holds ([`Str`]) is zeroized when its last reference is
//! dropped, including intermediate results. Errors never contain data values: only the
//! template name, position, the failing template expression and Go type names. The
//! rendered output is returned as plain bytes; callers that treat it as secret must
//! move it into their own zeroizing holder.

mod ast;
mod budget;
mod error;
mod exec;
pub mod funcs;
pub mod gotime;
mod lexer;
mod literal;
mod parser;
mod value;
mod yaml;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use budget::{Budget, Limits, cost};
pub use error::{ErrorKind, TemplateError};
pub use parser::{MAX_PARSE_DEPTH, MAX_SOURCE_BYTES};
pub use value::{Children, Dict, List, Map, Shared, Str, Value, format_float_g};

/// Parse options: the action delimiters (ESO's `--template-left-delimiter` /
/// `--template-right-delimiter`). Empty strings mean the defaults `{{` and `}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Left delimiter, default `{{`.
    pub left_delim: String,
    /// Right delimiter, default `}}`.
    pub right_delim: String,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            left_delim: "{{".into(),
            right_delim: "}}".into(),
        }
    }
}

/// A parsed template (plus the templates it `define`s), ready to render many times.
#[derive(Debug, Clone)]
pub struct Template {
    pub(crate) name: String,
    /// Wiped when the last copy of the template goes (sources may embed data).
    pub(crate) source: Arc<zeroize::Zeroizing<String>>,
    pub(crate) root: Arc<Vec<ast::Node>>,
    pub(crate) defines: Arc<HashMap<String, Vec<ast::Node>>>,
}

impl Template {
    /// Parse `source`. `name` appears in error messages (ESO uses the data key).
    ///
    /// Fails on syntax errors and on references to functions that are not defined
    /// (Go's message) or that ESO has but secretsync does not implement.
    pub fn parse(name: &str, source: &str, opts: &ParseOptions) -> Result<Template, TemplateError> {
        let parsed = parser::parse(name, source, opts)?;
        Ok(Template {
            name: name.to_string(),
            source: Arc::new(zeroize::Zeroizing::new(source.to_string())),
            root: Arc::new(parsed.root),
            defines: Arc::new(parsed.defines),
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Render against ESO's context (a `map[string]string` of the provider data) with
    /// [`Limits::default`]. The output is bytes, exactly what ESO writes into `Secret.data`.
    pub fn render(&self, ctx: &Context) -> Result<Vec<u8>, TemplateError> {
        self.render_with(ctx, &mut Budget::default())
    }

    /// Render, counting against `budget` (which several renders may share, like all the
    /// templates of one ExternalSecret).
    pub fn render_with(
        &self,
        ctx: &Context,
        budget: &mut Budget,
    ) -> Result<Vec<u8>, TemplateError> {
        let mut out = Vec::new();
        match self.render_into(ctx.as_value(), &mut out, budget) {
            Ok(()) => Ok(out),
            Err(e) => {
                zeroize::Zeroize::zeroize(&mut out);
                Err(e)
            }
        }
    }

    /// Render and require UTF-8 output (for labels, annotations and other text targets).
    pub fn render_string(&self, ctx: &Context) -> Result<String, TemplateError> {
        self.render_string_with(ctx, &mut Budget::default())
    }

    /// [`Template::render_string`] counting against `budget`.
    pub fn render_string_with(
        &self,
        ctx: &Context,
        budget: &mut Budget,
    ) -> Result<String, TemplateError> {
        let bytes = self.render_with(ctx, budget)?;
        String::from_utf8(bytes).map_err(|e| {
            let mut b = e.into_bytes();
            zeroize::Zeroize::zeroize(&mut b);
            TemplateError::exec_plain(&self.name, "rendered output is not valid UTF-8".into())
        })
    }

    /// Render with an arbitrary value as `.` (e.g. a map built by the caller).
    pub fn render_value(&self, data: Value) -> Result<Vec<u8>, TemplateError> {
        let mut out = Vec::new();
        self.render_into(data, &mut out, &mut Budget::default())?;
        Ok(out)
    }

    /// Render into `out` (appending). On error `out` may hold partial output, like Go.
    pub fn render_into(
        &self,
        data: Value,
        out: &mut Vec<u8>,
        budget: &mut Budget,
    ) -> Result<(), TemplateError> {
        let mut st = exec::State::new(self, out, budget);
        st.run(&self.root, data)
    }
}

/// The template context: secret key → value (any bytes), exposed to templates as Go's
/// `map[string]string` (so `index . "missing"` yields `""` and `hasKey .` is a type error,
/// exactly as in ESO). Values are zeroized when the context and all values derived from
/// it are dropped.
#[derive(Clone, Default)]
pub struct Context {
    map: Dict,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("keys", &self.map.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Insert (or replace) a key.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Str>) {
        self.map.insert(key.into(), Value::String(value.into()));
    }

    /// Build from a `BTreeMap<String, Value>`; non-string values are kept as they are
    /// (useful for tests and non-ESO callers).
    pub fn from_values(map: BTreeMap<String, Value>) -> Self {
        Context {
            map: Dict::new(map),
        }
    }

    /// The context as a template value.
    pub fn as_value(&self) -> Value {
        Value::StrMap(self.map.clone())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the context has no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Into<String>, V: Into<Str>> FromIterator<(K, V)> for Context {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut c = Context::new();
        for (k, v) in iter {
            c.insert(k, v);
        }
        c
    }
}

/// Parse and render in one go (convenience for one-off templates).
pub fn render(
    name: &str,
    source: &str,
    ctx: &Context,
    opts: &ParseOptions,
) -> Result<Vec<u8>, TemplateError> {
    Template::parse(name, source, opts)?.render(ctx)
}
