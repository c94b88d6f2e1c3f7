//! Parse tree. Byte offsets (`pos`) point into the template source for error messages.

use crate::funcs::FuncId;

/// A node of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text (after whitespace trimming).
    Text(Box<str>),
    /// `{{ pipeline }}`.
    Action(Pipe),
    /// `{{if}}`.
    If(Branch),
    /// `{{range}}`.
    Range(Branch),
    /// `{{with}}`.
    With(Branch),
    /// `{{template "name" pipeline}}` (also the expansion of `{{block}}`).
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    /// `{{break}}`.
    Break,
    /// `{{continue}}`.
    Continue,
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// A pipeline with optional variable declarations.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub end: usize,
    pub args: Vec<Arg>,
}

/// A numeric constant with Go's "ideal constant" flags.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub is_int: bool,
    pub int: i64,
    pub is_float: bool,
    pub float: f64,
    /// Whether Go would type it as float64 in an `interface{}` context.
    pub float_typed: bool,
}

/// An operand.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Number(Number),
    String(Box<str>),
    /// `.a.b`
    Field(Vec<String>),
    /// `$x.a.b` (`$` alone has name "$").
    Variable {
        name: String,
        fields: Vec<String>,
    },
    /// A function name.
    Func {
        id: FuncId,
        name: &'static str,
    },
    /// `( pipeline )`
    Pipe(Box<Pipe>),
    /// `(pipeline).a.b`
    Chain {
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

impl Arg {
    /// Go's parse node type name, used in "expected X; found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Arg::Dot => "dot",
            Arg::Nil => "nil",
            Arg::Bool(_) => "bool",
            Arg::Number(_) => "number",
            Arg::String(_) => "string",
            Arg::Field(_) => "field",
            Arg::Variable { .. } => "variable",
            Arg::Func { .. } => "identifier",
            Arg::Pipe(_) => "pipeline",
            Arg::Chain { .. } => "chain",
        }
    }
}
