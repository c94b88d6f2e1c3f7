//! Recursive-descent parser following Go's `text/template/parse/parse.go`.

use std::collections::HashMap;

use crate::ParseOptions;
use crate::ast::{Arg, Branch, Command, Node, Number, Pipe};
use crate::error::{TemplateError, line_col};
use crate::funcs;
use crate::lexer::{Tok, Token, lex};
use crate::literal::{parse_number, unquote};

/// Maximum nesting of control structures / parentheses (Go allows 10000; we stay well
/// below what a native stack can take).
pub const MAX_PARSE_DEPTH: usize = 200;

/// Largest template source accepted (Kubernetes objects are limited to about 1.5 MiB).
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// Parsed templates: the main body plus `define`d/`block` templates.
pub(crate) struct Parsed {
    pub root: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
}

struct Parser<'a> {
    name: &'a str,
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    defines: HashMap<String, Vec<Node>>,
}

/// What ended an item list.
enum End {
    End,
    Else { pos: usize },
}

type PResult<T> = Result<T, TemplateError>;

/// Parse `src` into trees.
pub(crate) fn parse(name: &str, src: &str, opts: &ParseOptions) -> PResult<Parsed> {
    if src.len() > MAX_SOURCE_BYTES {
        return Err(TemplateError::parse(
            name,
            1,
            format!("the template is longer than the limit of {MAX_SOURCE_BYTES} bytes"),
        ));
    }
    let toks = lex(src, opts).map_err(|e| {
        let (line, _) = line_col(src, e.pos);
        TemplateError::parse(name, line, e.message)
    })?;
    let mut p = Parser {
        name,
        src,
        toks,
        i: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        defines: HashMap::new(),
    };
    let mut root = p.parse_top()?;
    // The main template is itself a named template: `{{template "NAME"}}` can reach it,
    // and a non-empty `define` of the same name conflicts with a non-empty body.
    if let Some(def) = p.defines.get(name) {
        if !is_empty_tree(&root) && !is_empty_tree(def) {
            return p.err(
                0,
                format!("template: multiple definition of template {name:?}"),
            );
        }
        if is_empty_tree(&root) {
            root = def.clone();
        }
    }
    Ok(Parsed {
        root,
        defines: p.defines,
    })
}

/// Go's `IsEmptyTree`: only whitespace text.
fn is_empty_tree(list: &[Node]) -> bool {
    list.iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

impl<'a> Parser<'a> {
    fn text(&self, t: Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> PResult<T> {
        let (line, _) = line_col(self.src, pos);
        Err(TemplateError::parse(self.name, line, msg.into()))
    }

    fn peek(&self) -> Token {
        self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn describe(&self, t: Token) -> String {
        match t.kind {
            Tok::Eof => "EOF".into(),
            Tok::RightDelim => "\"}}\"".replace("}}", &self.src[t.start..t.end]),
            _ => format!("{:?}", self.text(t)),
        }
    }

    fn unexpected<T>(&self, t: Token, context: &str) -> PResult<T> {
        let desc = match t.kind {
            Tok::LeftDelim | Tok::RightDelim | Tok::Eof => format!("<{}>", self.text(t)),
            _ => self.describe(t),
        };
        let desc = if t.kind == Tok::Eof {
            "EOF".to_string()
        } else {
            desc
        };
        self.err(t.start, format!("unexpected {desc} in {context}"))
    }

    fn expect(&mut self, kind: Tok, context: &str) -> PResult<Token> {
        let t = self.next_non_space();
        if t.kind != kind {
            return self.unexpected(t, context);
        }
        Ok(t)
    }

    fn enter(&mut self, pos: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return self.err(
                pos,
                format!("template nesting exceeds the maximum depth of {MAX_PARSE_DEPTH}"),
            );
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().kind != Tok::Eof {
            if self.peek().kind == Tok::LeftDelim {
                let save = self.i;
                self.next();
                if self.next_non_space().kind == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.push(n),
                Item::End(pos) => return self.err(pos, "unexpected {{end}}"),
                Item::Else(pos) => return self.err(pos, "unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    fn parse_template_name(&mut self, t: Token, context: &str) -> PResult<String> {
        match t.kind {
            Tok::String | Tok::RawString => unquote(self.text(t)).or_else(|e| self.err(t.start, e)),
            _ => self.unexpected(t, context),
        }
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        let name = self.parse_template_name(t, context)?;
        self.expect(Tok::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if let End::Else { pos } = end {
            return self.err(pos, format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add_define(t.start, name, list)
    }

    fn add_define(&mut self, pos: usize, name: String, list: Vec<Node>) -> PResult<()> {
        // Like Go: an empty (re)definition never replaces a non-empty one, and two
        // non-empty definitions of one name are an error.
        if let Some(old) = self.defines.get(&name)
            && !is_empty_tree(old)
        {
            if is_empty_tree(&list) {
                return Ok(());
            }
            return self.err(
                pos,
                format!("template: multiple definition of template {name:?}"),
            );
        }
        self.defines.insert(name, list);
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, End)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Tok::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                Item::End(_) => return Ok((list, End::End)),
                Item::Else(pos) => return Ok((list, End::Else { pos })),
            }
        }
        let t = self.peek();
        self.err(t.start, "unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Tok::Text => Ok(Item::Node(Node::Text(self.text(t).into()))),
            Tok::LeftDelim => self.action(),
            _ => self.unexpected(t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Tok::Block => return self.block_control(t.start).map(Item::Node),
            Tok::Break | Tok::Continue => {
                let word = if t.kind == Tok::Break {
                    "break"
                } else {
                    "continue"
                };
                let n = self.next_non_space();
                if n.kind != Tok::RightDelim {
                    return self.unexpected(n, &format!("{{{{{word}}}}}"));
                }
                if self.range_depth == 0 {
                    return self.err(t.start, format!("{{{{{word}}}}} outside {{{{range}}}}"));
                }
                return Ok(Item::Node(if t.kind == Tok::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            Tok::Else => {
                let p = self.peek_non_space();
                if matches!(p.kind, Tok::If | Tok::With) {
                    return Ok(Item::Else(p.start));
                }
                self.expect(Tok::RightDelim, "else")?;
                return Ok(Item::Else(t.start));
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Item::End(t.start));
            }
            Tok::If => return self.control("if", t.start).map(|b| Item::Node(Node::If(b))),
            Tok::Range => {
                return self
                    .control("range", t.start)
                    .map(|b| Item::Node(Node::Range(b)));
            }
            Tok::With => {
                return self
                    .control("with", t.start)
                    .map(|b| Item::Node(Node::With(b)));
            }
            Tok::Template => return self.template_control().map(Item::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &'static str, pos: usize) -> PResult<Branch> {
        self.enter(pos)?;
        let nvars = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let End::Else { pos: else_pos } = end {
            let next = self.peek();
            let chained = match (context, next.kind) {
                ("if", Tok::If) => Some("if"),
                ("with", Tok::With) => Some("with"),
                _ => None,
            };
            if let Some(kind) = chained {
                // {{else if x}} == {{else}}{{if x}}...{{end}}{{end}}, sharing one {{end}}.
                self.next();
                let inner = self.control(kind, else_pos)?;
                let node = if kind == "if" {
                    Node::If(inner)
                } else {
                    Node::With(inner)
                };
                else_list = Some(vec![node]);
            } else {
                if context == "range" {
                    self.range_depth += 0;
                }
                let (l, end) = self.item_list()?;
                if let End::Else { pos } = end {
                    return self.err(pos, "expected end; found {{else}}");
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(nvars);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.parse_template_name(t, context)?;
        let pipe = if self.next_non_space().kind != Tok::RightDelim {
            self.backup();
            Some(self.pipeline(context, Tok::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template {
            pos: t.start,
            name,
            pipe,
        })
    }

    fn block_control(&mut self, pos: usize) -> PResult<Node> {
        let context = "block clause";
        self.enter(pos)?;
        let t = self.next_non_space();
        let name = self.parse_template_name(t, context)?;
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        self.range_depth = saved_range;
        if let End::Else { pos } = end {
            return self.err(pos, format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add_define(t.start, name.clone(), list)?;
        self.depth -= 1;
        Ok(Node::Template {
            pos: t.start,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let start = self.peek_non_space().start;
        let mut pipe = Pipe {
            pos: start,
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        // declarations
        loop {
            let v = self.peek_non_space();
            if v.kind != Tok::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let after_var = self.peek();
            let next = self.peek_non_space();
            let vname = self.text(v).to_string();
            if next.kind == Tok::Assign || next.kind == Tok::Declare {
                pipe.is_assign = next.kind == Tok::Assign;
                self.next_non_space();
                if pipe.is_assign && !self.vars.contains(&vname) {
                    return self.err(v.start, format!("undefined variable {vname:?}"));
                }
                pipe.decl.push(vname.clone());
                self.vars.push(vname);
                break;
            } else if next.kind == Tok::Char && self.text(next) == "," {
                self.next_non_space();
                pipe.decl.push(vname.clone());
                self.vars.push(vname);
                if context == "range" && pipe.decl.len() < 2 {
                    let p = self.peek_non_space();
                    if matches!(p.kind, Tok::Variable | Tok::RightDelim | Tok::RightParen) {
                        continue;
                    }
                    return self.err(p.start, "range can only initialize variables");
                }
                return self.err(v.start, format!("too many declarations in {context}"));
            } else {
                let _ = after_var;
                self.i = save;
                break;
            }
        }
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                self.check_pipeline(&pipe, context, t.start)?;
                return Ok(pipe);
            }
            match t.kind {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(t, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, pos: usize) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.err(pos, format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(_) | Arg::Dot | Arg::Nil | Arg::Number(_) | Arg::String(_)
            ) {
                return self.err(
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().start;
        let mut args = Vec::new();
        let mut end = pos;
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
                end = self.toks[self.i.saturating_sub(1)].end;
            }
            let t = self.next();
            match t.kind {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(t, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return self.err(pos, "empty command");
        }
        Ok(Command {
            pos,
            end: end.max(pos),
            args,
        })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Tok::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().start;
        let mut fields = Vec::new();
        while self.peek().kind == Tok::Field {
            let t = self.next();
            fields.push(self.text(t)[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field(mut f) => {
                f.extend(fields);
                Arg::Field(f)
            }
            Arg::Variable {
                name,
                fields: mut f,
            } => {
                f.extend(fields);
                Arg::Variable { name, fields: f }
            }
            Arg::Bool(_) | Arg::String(_) | Arg::Number(_) | Arg::Nil | Arg::Dot => {
                return self.err(pos, "unexpected . after term");
            }
            other => Arg::Chain {
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let text = self.text(t);
        Ok(Some(match t.kind {
            Tok::Identifier => match funcs::lookup(text) {
                Some((id, name)) => Arg::Func { id, name },
                None if funcs::missing_feature(text).is_some() => {
                    let feature = funcs::missing_feature(text).unwrap_or_default();
                    return self.err(
                        t.start,
                        format!(
                            "function {text:?} needs the secretsync-template feature {feature:?}, which this build leaves out"
                        ),
                    );
                }
                None if funcs::is_unsupported(text) => {
                    return self.err(
                        t.start,
                        format!("function {text:?} is not supported by secretsync"),
                    );
                }
                None => return self.err(t.start, format!("function {text:?} not defined")),
            },
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Variable => {
                if !self.vars.iter().any(|v| v == text) {
                    return self.err(t.start, format!("undefined variable {text:?}"));
                }
                Arg::Variable {
                    name: text.to_string(),
                    fields: Vec::new(),
                }
            }
            Tok::Field => Arg::Field(vec![text[1..].to_string()]),
            Tok::Bool => Arg::Bool(text == "true"),
            Tok::Number | Tok::CharConstant => Arg::Number(self.number(t)?),
            Tok::LeftParen => {
                self.enter(t.start)?;
                let p = self.pipeline("parenthesized pipeline", Tok::RightParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(p))
            }
            Tok::String | Tok::RawString => match unquote(text) {
                Ok(s) => Arg::String(crate::value::Str::from(s)),
                Err(e) => return self.err(t.start, e),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn number(&self, t: Token) -> PResult<Number> {
        let text = self.text(t);
        if t.kind == Tok::CharConstant {
            let s = unquote(text).or_else(|e| self.err(t.start, e))?;
            let mut chars = s.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return self.err(t.start, format!("malformed character constant: {text}"));
            };
            let v = c as i64;
            return Ok(Number {
                is_int: true,
                int: v,
                is_float: true,
                float: v as f64,
                float_typed: false,
            });
        }
        if text.ends_with('i') {
            return self.err(
                t.start,
                format!("complex numbers are not supported: {text}"),
            );
        }
        match parse_number(text) {
            Some(n) => Ok(n),
            None => self.err(t.start, format!("illegal number syntax: {text:?}")),
        }
    }
}

enum Item {
    Node(Node),
    End(usize),
    Else(usize),
}
