//! The streaming encoder: values call `null`/`bool`/`int`/`float`/`string` and bracket
//! arrays and objects; separators and `MarshalIndent` layout are handled here.

use crate::float::format_float;
use crate::string::write_string;

/// How to write: Go's `json.Marshal` is `Options::default()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Escape `<`, `>` and `&` (Go's default; `SetEscapeHTML(false)` turns it off).
    pub escape_html: bool,
    /// `MarshalIndent(v, "", "  ")`: one element per line, two spaces per level.
    pub pretty: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            escape_html: true,
            pretty: false,
        }
    }
}

/// Why encoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The output would pass the encoder's size limit.
    TooLarge,
    /// NaN or ±Inf (Go: `json: unsupported value`).
    UnsupportedFloat,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::TooLarge => f.write_str("the JSON text would exceed its size limit"),
            Error::UnsupportedFloat => f.write_str("json: unsupported value: non-finite float"),
        }
    }
}

impl std::error::Error for Error {}

/// Writes one JSON text into a byte buffer, refusing to grow it past `limit` bytes.
pub struct Encoder<'o> {
    out: &'o mut Vec<u8>,
    options: Options,
    limit: usize,
    /// One entry per open array/object: whether it has no element yet.
    open: Vec<bool>,
}

impl<'o> Encoder<'o> {
    /// An encoder appending to `out` until it holds `limit` bytes.
    pub fn new(out: &'o mut Vec<u8>, options: Options, limit: usize) -> Self {
        Encoder {
            out,
            options,
            limit,
            open: Vec::new(),
        }
    }

    fn check(&self) -> Result<(), Error> {
        if self.out.len() > self.limit {
            return Err(Error::TooLarge);
        }
        Ok(())
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.out.len().saturating_add(bytes.len()) > self.limit {
            return Err(Error::TooLarge);
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn newline(&mut self, depth: usize) -> Result<(), Error> {
        self.raw(b"\n")?;
        for _ in 0..depth {
            self.raw(b"  ")?;
        }
        Ok(())
    }

    /// Starts the next array element (writes the separator and, when pretty, the newline).
    pub fn element(&mut self) -> Result<(), Error> {
        let depth = self.open.len();
        let first = self.open.last_mut().map(|f| std::mem::replace(f, false));
        if first == Some(false) {
            self.raw(b",")?;
        }
        if self.options.pretty && first.is_some() {
            self.newline(depth)?;
        }
        Ok(())
    }

    /// `null`.
    pub fn null(&mut self) -> Result<(), Error> {
        self.raw(b"null")
    }

    /// `true` / `false`.
    pub fn bool(&mut self, b: bool) -> Result<(), Error> {
        self.raw(if b { b"true" } else { b"false" })
    }

    /// An integer.
    pub fn int(&mut self, i: i64) -> Result<(), Error> {
        self.raw(i.to_string().as_bytes())
    }

    /// A float64 (NaN and ±Inf are errors, as in Go).
    pub fn float(&mut self, f: f64) -> Result<(), Error> {
        let s = format_float(f).ok_or(Error::UnsupportedFloat)?;
        self.raw(s.as_bytes())
    }

    /// A string (any bytes; invalid UTF-8 becomes U+FFFD).
    pub fn string(&mut self, s: &[u8]) -> Result<(), Error> {
        // The escaped form is at most six bytes per input byte.
        if self
            .out
            .len()
            .saturating_add(s.len().saturating_mul(6).saturating_add(2))
            > self.limit
        {
            let mut scratch = Vec::new();
            write_string(&mut scratch, s, self.options.escape_html);
            return self.raw(&scratch);
        }
        write_string(self.out, s, self.options.escape_html);
        self.check()
    }

    /// `[`.
    pub fn begin_array(&mut self) -> Result<(), Error> {
        self.open.push(true);
        self.raw(b"[")
    }

    /// `]` (an empty array prints `[]` even when pretty).
    pub fn end_array(&mut self) -> Result<(), Error> {
        self.close(b"]")
    }

    /// `{`.
    pub fn begin_object(&mut self) -> Result<(), Error> {
        self.open.push(true);
        self.raw(b"{")
    }

    /// An object key and its colon; the value follows.
    pub fn key(&mut self, key: &[u8]) -> Result<(), Error> {
        self.element()?;
        self.string(key)?;
        self.raw(if self.options.pretty { b": " } else { b":" })
    }

    /// `}`.
    pub fn end_object(&mut self) -> Result<(), Error> {
        self.close(b"}")
    }

    fn close(&mut self, bracket: &[u8]) -> Result<(), Error> {
        let empty = self.open.pop().unwrap_or(true);
        if self.options.pretty && !empty {
            self.newline(self.open.len())?;
        }
        self.raw(bracket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty() -> Options {
        Options {
            escape_html: true,
            pretty: true,
        }
    }

    #[test]
    fn lays_out_like_marshal_indent() {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out, pretty(), usize::MAX);
        e.begin_object().unwrap();
        e.key(b"a").unwrap();
        e.begin_array().unwrap();
        e.element().unwrap();
        e.int(1).unwrap();
        e.element().unwrap();
        e.begin_array().unwrap();
        e.end_array().unwrap();
        e.end_array().unwrap();
        e.key(b"b").unwrap();
        e.begin_object().unwrap();
        e.end_object().unwrap();
        e.end_object().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"a\": [\n    1,\n    []\n  ],\n  \"b\": {}\n}"
        );
    }

    #[test]
    fn stops_at_the_limit() {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out, Options::default(), 8);
        e.begin_array().unwrap();
        e.element().unwrap();
        assert_eq!(e.string(b"abcdefgh"), Err(Error::TooLarge));
        assert!(out.len() <= 8);
    }
}
