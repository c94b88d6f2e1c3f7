//! Tokenizer, following the states of Go's `text/template/parse/lex.go`.

use crate::ParseOptions;

/// Token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Field,
    Variable,
    Identifier,
    Bool,
    Number,
    Char,
    CharConstant,
    String,
    RawString,
    Dot,
    Pipe,
    LeftParen,
    RightParen,
    Assign,
    Declare,
    Eof,
    // keywords
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// One token: kind and byte range in the source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

/// A lexing error at a byte offset.
pub(crate) struct LexError {
    pub pos: usize,
    pub message: String,
}

const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

struct Lexer<'a> {
    src: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    paren_depth: i32,
    out: Vec<Token>,
}

/// Tokenize `src` completely.
pub(crate) fn lex(src: &str, opts: &ParseOptions) -> Result<Vec<Token>, LexError> {
    let left = if opts.left_delim.is_empty() {
        "{{"
    } else {
        opts.left_delim.as_str()
    };
    let right = if opts.right_delim.is_empty() {
        "}}"
    } else {
        opts.right_delim.as_str()
    };
    let mut lx = Lexer {
        src,
        left,
        right,
        pos: 0,
        start: 0,
        paren_depth: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn emit(&mut self, kind: Tok) {
        self.out.push(Token {
            kind,
            start: self.start,
            end: self.pos,
        });
        self.start = self.pos;
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos: self.start,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn has_left_trim(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 2 && b[0] == b'-' && is_space(b[1])
    }

    fn has_right_trim(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 2 && is_space(b[0]) && b[1] == b'-'
    }

    /// (at right delimiter, with trim marker)
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if Self::has_right_trim(rest) && rest[2..].starts_with(self.right) {
            return (true, true);
        }
        (rest.starts_with(self.right), false)
    }

    fn run(&mut self) -> Result<(), LexError> {
        loop {
            // text state
            match self.rest().find(self.left) {
                Some(x) => {
                    if x > 0 {
                        self.pos += x;
                        let delim_end = self.pos + self.left.len();
                        let mut trim = 0;
                        if Self::has_left_trim(&self.src[delim_end..]) {
                            let text = &self.src[self.start..self.pos];
                            trim =
                                text.len() - text.trim_end_matches([' ', '\t', '\r', '\n']).len();
                        }
                        self.pos -= trim;
                        if self.pos > self.start {
                            self.emit(Tok::Text);
                        }
                        self.pos += trim;
                        self.start = self.pos;
                    }
                    self.lex_left_delim()?;
                }
                None => {
                    self.pos = self.src.len();
                    if self.pos > self.start {
                        self.emit(Tok::Text);
                    }
                    self.emit(Tok::Eof);
                    return Ok(());
                }
            }
        }
    }

    fn skip_leading_space(&mut self) {
        let rest = self.rest();
        let n = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
        self.pos += n;
        self.start = self.pos;
    }

    fn lex_left_delim(&mut self) -> Result<(), LexError> {
        self.pos += self.left.len();
        let trim = Self::has_left_trim(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.src[self.pos + after..].starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.start = self.pos;
            return self.lex_comment();
        }
        self.emit(Tok::LeftDelim);
        self.pos += after;
        self.start = self.pos;
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> Result<(), LexError> {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.err("unclosed comment");
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.err("comment ends before closing delimiter");
        }
        if trim {
            self.pos += 2;
        }
        self.pos += self.right.len();
        self.start = self.pos;
        if trim {
            self.skip_leading_space();
        }
        Ok(())
    }

    fn lex_right_delim(&mut self, trim: bool) {
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += self.right.len();
        self.emit(Tok::RightDelim);
        if trim {
            self.skip_leading_space();
        }
    }

    fn lex_inside_action(&mut self) -> Result<(), LexError> {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.lex_right_delim(trim);
                    return Ok(());
                }
                return self.err("unclosed left paren");
            }
            let Some(c) = self.next() else {
                return self.err("unclosed action");
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    self.pos -= 1;
                    if self.lex_space() {
                        // at " -}}" after a single space
                        let (_, trim) = self.at_right_delim();
                        self.lex_right_delim(trim);
                        return Ok(());
                    }
                }
                '=' => self.emit(Tok::Assign),
                ':' => {
                    if self.next() != Some('=') {
                        return self.err("expected :=");
                    }
                    self.emit(Tok::Declare);
                }
                '|' => self.emit(Tok::Pipe),
                '"' => self.lex_quote()?,
                '`' => self.lex_raw_quote()?,
                '$' => self.lex_variable()?,
                '\'' => self.lex_char()?,
                '.' if !matches!(self.peek(), Some('0'..='9')) => self.lex_field()?,
                '.' | '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    self.lex_number()?;
                }
                '(' => {
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen);
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        return self.err("unexpected right paren");
                    }
                    self.emit(Tok::RightParen);
                }
                c if is_alnum(c) => {
                    self.pos -= c.len_utf8();
                    self.lex_identifier()?;
                }
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(Tok::Char),
                c => {
                    return self.err(format!(
                        "unrecognized character in action: {}",
                        go_unicode(c)
                    ));
                }
            }
        }
    }

    /// Returns true when the spaces are followed by a trim-marked right delimiter
    /// and consist of exactly that one space (caller then lexes the delimiter).
    fn lex_space(&mut self) -> bool {
        let mut n = 0;
        while let Some(b) = self.rest().as_bytes().first() {
            if !is_space(*b) {
                break;
            }
            self.pos += 1;
            n += 1;
        }
        let before = &self.src[self.pos - 1..];
        if Self::has_right_trim(before) && before[2..].starts_with(self.right) {
            self.pos -= 1;
            if n == 1 {
                return true;
            }
        }
        self.emit(Tok::Space);
        false
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if c.is_ascii() && is_space(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(self.right),
        }
    }

    fn lex_identifier(&mut self) -> Result<(), LexError> {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            return self.err(format!("bad character {}", go_unicode(c)));
        }
        let kind = match &self.src[self.start..self.pos] {
            "block" => Tok::Block,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "define" => Tok::Define,
            "else" => Tok::Else,
            "end" => Tok::End,
            "if" => Tok::If,
            "range" => Tok::Range,
            "nil" => Tok::Nil,
            "template" => Tok::Template,
            "with" => Tok::With,
            "true" | "false" => Tok::Bool,
            _ => Tok::Identifier,
        };
        self.emit(kind);
        Ok(())
    }

    fn lex_field(&mut self) -> Result<(), LexError> {
        self.lex_field_or_variable(Tok::Field)
    }

    fn lex_variable(&mut self) -> Result<(), LexError> {
        self.lex_field_or_variable(Tok::Variable)
    }

    fn lex_field_or_variable(&mut self, kind: Tok) -> Result<(), LexError> {
        if self.at_terminator() {
            self.emit(if kind == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
            return Ok(());
        }
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            return self.err(format!("bad character {}", go_unicode(c)));
        }
        self.emit(kind);
        Ok(())
    }

    fn lex_char(&mut self) -> Result<(), LexError> {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    None | Some('\n') => return self.err("unterminated character constant"),
                    _ => {}
                },
                None | Some('\n') => return self.err("unterminated character constant"),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(Tok::CharConstant);
        Ok(())
    }

    fn lex_number(&mut self) -> Result<(), LexError> {
        if !self.scan_number() {
            return self.err(format!(
                "bad number syntax: {:?}",
                &self.src[self.start..self.pos]
            ));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // complex numbers are not supported
            self.next();
            return self.err(format!(
                "bad number syntax: {:?}",
                &self.src[self.start..self.pos]
            ));
        }
        self.emit(Tok::Number);
        Ok(())
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek()
            && is_alnum(c)
        {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> Result<(), LexError> {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    None | Some('\n') => return self.err("unterminated quoted string"),
                    _ => {}
                },
                None | Some('\n') => return self.err("unterminated quoted string"),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(Tok::String);
        Ok(())
    }

    fn lex_raw_quote(&mut self) -> Result<(), LexError> {
        loop {
            match self.next() {
                None => return self.err("unterminated raw quoted string"),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(Tok::RawString);
        Ok(())
    }
}

/// Go's `%#U` formatting of a rune: `U+0041 'A'`.
pub(crate) fn go_unicode(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}
