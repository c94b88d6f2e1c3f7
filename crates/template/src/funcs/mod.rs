//! The function table: Go's builtins, sprig v3 (as vendored by ESO) and ESO's extras.
//!
//! Functions are resolved at parse time. A function that ESO offers but secretsync does
//! not implement fails to parse with `function "X" is not supported by secretsync`; a
//! function that does not exist in ESO (including `env`, `expandenv` and
//! `getHostByName`, removed for security) fails like Go: `function "X" not defined`.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::budget::Budget;
use crate::value::Value;

mod builtins;
mod bytes;
mod cast;
mod certgen;
mod collections;
mod dates;
mod decode;
mod defaults;
mod encoding;
mod fmt;
mod jwk;
mod keys;
pub mod material;
mod math;
mod pem;
#[cfg(feature = "pkcs12")]
mod pkcs12_dec;
#[cfg(feature = "pkcs12")]
mod pkcs12_enc;
mod regexp;
mod semver;
mod strcase;
mod strings;
mod symmetric;
mod url;
mod x509;

pub(crate) use cast::{to_float64, to_int64};
/// Byte encodings shared with the generators (Go's base32 and hex encoders).
pub use encoding::{b32enc as base32_std, hex as hex_lower};

/// Parameter types, mirroring the Go parameter types of the real functions
/// (they decide which argument conversions Go's executor accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum P {
    /// `interface{}`
    Any,
    /// `string`
    Str,
    /// `int`
    Int,
    /// `float64`
    Float,
    /// `bool`
    Bool,
    /// `map[string]interface{}`
    Map,
    /// `[]interface{}`
    List,
    /// `time.Time`
    Time,
}

impl P {
    pub(crate) fn can_be_nil(self) -> bool {
        matches!(self, P::Any | P::Map | P::List)
    }

    pub(crate) fn go_name(self) -> &'static str {
        match self {
            P::Any => "interface {}",
            P::Str => "string",
            P::Int => "int",
            P::Float => "float64",
            P::Bool => "bool",
            P::Map => "map[string]interface {}",
            P::List => "[]interface {}",
            P::Time => "time.Time",
        }
    }

    pub(crate) fn expect_word(self) -> &'static str {
        match self {
            P::Int => "integer",
            P::Float => "float",
            P::Bool => "bool",
            P::Str => "string",
            _ => self.go_name(),
        }
    }
}

/// A function implementation. Arguments are already checked against the parameter
/// types. Error messages must never contain argument values.
pub(crate) type FuncImpl = fn(&[Value]) -> Result<Value, String>;

/// A function that asks the render's [`Budget`] before allocating or working: it may
/// produce far more than its input (`repeat`, `until`, `printf` widths), print whole values
/// (`toJson`, `join`), compare them (`uniq`) or run expensive code (bcrypt, key generation).
pub(crate) type MeteredImpl = fn(&mut Budget, &[Value]) -> Result<Value, String>;

/// How a function runs.
#[derive(Clone, Copy)]
pub(crate) enum Imp {
    /// Output at most a small multiple of the input; checked after it returns.
    Plain(FuncImpl),
    /// Checks sizes and charges its cost against the budget itself.
    Metered(MeteredImpl),
}

/// One function of the table.
pub(crate) struct FuncDef {
    pub name: &'static str,
    pub params: &'static [P],
    pub variadic: Option<P>,
    pub imp: Imp,
}

/// Shorthand constructor used by the function modules.
pub(crate) const fn f(
    name: &'static str,
    params: &'static [P],
    variadic: Option<P>,
    imp: FuncImpl,
) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic,
        imp: Imp::Plain(imp),
    }
}

/// Constructor for a function that uses the render's budget (see [`MeteredImpl`]).
pub(crate) const fn m(
    name: &'static str,
    params: &'static [P],
    variadic: Option<P>,
    imp: MeteredImpl,
) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic,
        imp: Imp::Metered(imp),
    }
}

/// Index of a function in the table.
pub(crate) type FuncId = u16;

static TABLE: LazyLock<Vec<&'static FuncDef>> = LazyLock::new(|| {
    let groups: &[&'static [FuncDef]] = &[
        builtins::FUNCS,
        strings::FUNCS,
        collections::FUNCS,
        defaults::FUNCS,
        encoding::FUNCS,
        math::FUNCS,
        regexp::FUNCS,
        fmt::FUNCS,
        cast::FUNCS,
        pem::FUNCS,
        x509::FUNCS,
        strcase::FUNCS,
        symmetric::FUNCS,
        certgen::FUNCS,
        dates::FUNCS,
        #[cfg(feature = "pkcs12")]
        pkcs12_dec::FUNCS,
        #[cfg(feature = "pkcs12")]
        pkcs12_enc::FUNCS,
        jwk::FUNCS,
        semver::FUNCS,
        url::FUNCS,
    ];
    let mut v: Vec<&'static FuncDef> = Vec::new();
    for g in groups.iter().copied() {
        for d in g {
            // Later groups never shadow earlier ones; sprig's `slice` replaces Go's builtin,
            // which is why the builtin module does not define it.
            if !v.iter().any(|e| e.name == d.name) {
                v.push(d);
            }
        }
    }
    v
});

static INDEX: LazyLock<HashMap<&'static str, FuncId>> = LazyLock::new(|| {
    TABLE
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name, i as FuncId))
        .collect()
});

/// Resolve a function name.
pub(crate) fn lookup(name: &str) -> Option<(FuncId, &'static str)> {
    INDEX.get(name).map(|id| (*id, TABLE[*id as usize].name))
}

pub(crate) fn def(id: FuncId) -> &'static FuncDef {
    TABLE[id as usize]
}

/// Functions ESO's `runtime/template/v2` registers that secretsync does not implement.
/// Every ESO function is implemented; the list (and the "not supported" parse error) is
/// kept for functions ESO may add.
pub const UNSUPPORTED: &[&str] = &[];

/// Functions ESO removed (information disclosure); they are "not defined" like in ESO.
pub const REMOVED: &[&str] = &["env", "expandenv", "getHostByName"];

/// Whether `name` is an ESO function secretsync does not implement.
pub fn is_unsupported(name: &str) -> bool {
    UNSUPPORTED.contains(&name)
}

/// Functions behind a cargo feature of this crate, with the feature's name. They build on
/// pre-release crates (PKCS#12, CMS), so an embedder may leave them out.
pub const GATED: &[(&str, &str)] = &[
    ("pkcs12key", "pkcs12"),
    ("pkcs12keyPass", "pkcs12"),
    ("pkcs12cert", "pkcs12"),
    ("pkcs12certPass", "pkcs12"),
    ("pemToPkcs12", "pkcs12"),
    ("pemToPkcs12Pass", "pkcs12"),
    ("fullPemToPkcs12", "pkcs12"),
    ("fullPemToPkcs12Pass", "pkcs12"),
    ("pemTruststoreToPKCS12", "pkcs12"),
    ("pemTruststoreToPKCS12Pass", "pkcs12"),
];

/// The cargo feature `name` needs, when that feature is not enabled in this build.
pub fn missing_feature(name: &str) -> Option<&'static str> {
    if is_supported(name) {
        return None;
    }
    GATED
        .iter()
        .find(|(f, _)| *f == name)
        .map(|(_, feature)| *feature)
}

/// Whether `name` is a function secretsync implements.
pub fn is_supported(name: &str) -> bool {
    INDEX.contains_key(name)
}

/// Names of all implemented functions (Go builtins, sprig and ESO extras), sorted.
pub fn supported() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = TABLE.iter().map(|d| d.name).collect();
    v.sort_unstable();
    v
}

/// Argument accessors; the executor has already validated the types.
/// Text view of a string argument (invalid UTF-8 replaced, as Go's rune functions see it).
pub(crate) fn arg_str(args: &[Value], i: usize) -> std::borrow::Cow<'_, str> {
    args.get(i)
        .and_then(Value::as_str)
        .unwrap_or(std::borrow::Cow::Borrowed(""))
}

/// Byte view of a string argument (byte-exact functions).
pub(crate) fn arg_bytes(args: &[Value], i: usize) -> &[u8] {
    args.get(i).and_then(Value::as_bytes).unwrap_or(b"")
}

pub(crate) fn arg_int(args: &[Value], i: usize) -> i64 {
    match args.get(i) {
        Some(Value::Int(n) | Value::Int64(n)) => *n,
        _ => 0,
    }
}

/// Convert a Go `[]string` into a list value.
pub(crate) fn str_list<T: Into<Value>, I: IntoIterator<Item = T>>(it: I) -> Value {
    Value::list(it.into_iter().map(Into::into).collect())
}
