//! Template errors. They carry the template name, position and what went wrong,
//! and never a data value: messages are built only from the template source and
//! Go type names.

/// Whether an error happened while parsing or while executing a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Syntax error or reference to an unknown/unsupported function.
    Parse,
    /// Runtime error: missing key, wrong argument type, function failure.
    Exec,
}

/// A parse or execution error, formatted like Go's `text/template` errors
/// (`template: NAME:LINE:COL: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rendered}")]
pub struct TemplateError {
    /// Parse or exec.
    pub kind: ErrorKind,
    /// Name of the template (ESO uses the data key).
    pub name: String,
    /// 1-based line of the offending construct.
    pub line: usize,
    /// 1-based column (byte offset within the line, like Go).
    pub col: usize,
    /// What was expected / what went wrong (never contains data values).
    pub message: String,
    rendered: String,
}

impl TemplateError {
    pub(crate) fn parse(name: &str, line: usize, message: String) -> Self {
        let rendered = format!("template: {name}:{line}: {message}");
        TemplateError {
            kind: ErrorKind::Parse,
            name: name.to_string(),
            line,
            col: 0,
            message,
            rendered,
        }
    }

    pub(crate) fn exec(name: &str, line: usize, col: usize, at: &str, message: String) -> Self {
        let at = shorten(at, MAX_EXPRESSION_BYTES);
        let rendered =
            format!("template: {name}:{line}:{col}: executing \"{name}\" at <{at}>: {message}");
        TemplateError {
            kind: ErrorKind::Exec,
            name: name.to_string(),
            line,
            col,
            message,
            rendered,
        }
    }

    pub(crate) fn exec_plain(name: &str, message: String) -> Self {
        let rendered = format!("template: {name}: {message}");
        TemplateError {
            kind: ErrorKind::Exec,
            name: name.to_string(),
            line: 0,
            col: 0,
            message,
            rendered,
        }
    }
}

/// Longest template expression quoted in an error (`at <…>`).
const MAX_EXPRESSION_BYTES: usize = 200;

/// `s` cut to at most `max` bytes on a character boundary, with `…` when cut.
fn shorten(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end]).into()
}

/// Line (1-based) and column (1-based, bytes) of byte offset `pos` in `src`.
pub(crate) fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let before = &src.as_bytes()[..pos];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    (line, pos - line_start + 1)
}
