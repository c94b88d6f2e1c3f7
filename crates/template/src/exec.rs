//! Executor: walks the parse tree against a context, following Go's `text/template/exec.go`
//! with `Option("missingkey=error")`.

use crate::Template;
use crate::ast::{Arg, Branch, Command, Node, Number, Pipe};
use crate::budget::Budget;
use crate::error::{TemplateError, line_col};
use crate::funcs::{self, Imp, P};
use crate::value::Value;

enum Flow {
    Normal,
    Break,
    Continue,
}

/// An error before position information is attached.
pub(crate) struct ExecErr(String);

type R<T> = Result<T, Box<TemplateError>>;

pub(crate) struct State<'t> {
    tmpl: &'t Template,
    out: &'t mut Vec<u8>,
    budget: &'t mut Budget,
    vars: Vec<(&'t str, Value)>,
    /// `{{template}}` calls in progress.
    calls: usize,
    /// Nested bodies, parenthesized pipelines and calls in progress (bounds the stack).
    nesting: usize,
}

impl<'t> State<'t> {
    pub(crate) fn new(tmpl: &'t Template, out: &'t mut Vec<u8>, budget: &'t mut Budget) -> Self {
        State {
            tmpl,
            out,
            budget,
            vars: Vec::with_capacity(8),
            calls: 0,
            nesting: 0,
        }
    }

    pub(crate) fn run(&mut self, root: &'t [Node], data: Value) -> Result<(), TemplateError> {
        self.vars.push(("$", data.clone()));
        match self.walk_list(&data, root) {
            Ok(_) => Ok(()),
            Err(e) => Err(*e),
        }
    }

    fn err_at(&self, pos: usize, end: usize, msg: String) -> Box<TemplateError> {
        let src = self.tmpl.source.as_str();
        let (line, col) = line_col(src, pos);
        let end = end.clamp(pos, src.len());
        let at = src.get(pos..end).unwrap_or("");
        Box::new(TemplateError::exec(&self.tmpl.name, line, col, at, msg))
    }

    fn cmd_err(&self, cmd: &Command, e: ExecErr) -> Box<TemplateError> {
        self.err_at(cmd.pos, cmd.end, e.0)
    }

    fn plain_err(&self, message: String) -> Box<TemplateError> {
        Box::new(TemplateError::exec_plain(&self.tmpl.name, message))
    }

    fn output_error(&self) -> Box<TemplateError> {
        let limit = self.budget.limits().max_output_bytes;
        self.plain_err(format!("output exceeds the limit of {limit} bytes"))
    }

    fn write(&mut self, s: &[u8]) -> R<()> {
        let limit = self.budget.limits().max_output_bytes;
        if self.out.len().saturating_add(s.len()) > limit {
            return Err(self.output_error());
        }
        self.out.extend_from_slice(s);
        Ok(())
    }

    /// Enters a nested body, pipeline or call; fails past the nesting limit.
    fn enter(&mut self, pos: usize) -> R<()> {
        let limit = self.budget.limits().max_exec_depth;
        if self.nesting >= limit {
            return Err(self.err_at(
                pos,
                pos,
                format!("execution nests deeper than the limit of {limit} levels"),
            ));
        }
        self.nesting += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    fn walk_list(&mut self, dot: &Value, list: &'t [Node]) -> R<Flow> {
        for n in list {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn step(&mut self) -> R<()> {
        self.budget.step(1).map_err(|m| self.plain_err(m))
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> R<Flow> {
        self.step()?;
        match node {
            Node::Text(t) => self.write(t.as_bytes())?,
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    if let Value::Nil = v {
                        self.write(b"<no value>")?;
                    } else if let Value::String(s) = &v {
                        self.write(s.as_bytes())?;
                    } else {
                        let limit = self.budget.limits().max_output_bytes;
                        let mut out = std::mem::take(self.out);
                        let r = v.write_go(&mut crate::budget::Bounded::new(&mut out, limit));
                        *self.out = out;
                        r.map_err(|_| self.output_error())?;
                    }
                }
            }
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                self.enter(b.pipe.pos)?;
                let r = match node {
                    Node::If(b) => self.walk_if_with(dot, b, false),
                    Node::With(b) => self.walk_if_with(dot, b, true),
                    _ => self.walk_range(dot, b),
                };
                self.leave();
                return r;
            }
            Node::Template { pos, name, pipe } => {
                let list = match self.tmpl.defines.get(name) {
                    Some(l) => Some(l.as_slice()),
                    None if *name == self.tmpl.name => Some(self.tmpl.root.as_slice()),
                    None => None,
                };
                let Some(list) = list else {
                    return Err(self.err_at(
                        *pos,
                        *pos + name.len() + 2,
                        format!("no such template {name:?}"),
                    ));
                };
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                let max = self.budget.limits().max_template_depth;
                if self.calls >= max {
                    return Err(self.err_at(
                        *pos,
                        *pos,
                        format!("exceeded maximum template depth ({max})"),
                    ));
                }
                self.enter(*pos)?;
                self.calls += 1;
                let saved = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
                let r = self.walk_list(&new_dot, list);
                self.vars = saved;
                self.calls -= 1;
                self.leave();
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(&mut self, dot: &Value, b: &'t Branch, is_with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let r = if val.truthy() {
            if is_with {
                self.walk_list(&val, &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let count = match &val {
            Value::List(l) => l.len() as u64,
            Value::Map(m) | Value::StrMap(m) => m.len() as u64,
            Value::Int(n) | Value::Int64(n) => u64::try_from(*n).unwrap_or(0),
            Value::Nil => 0,
            other => {
                let pos = b.pipe.pos;
                return Err(self.err_at(
                    pos,
                    pos,
                    format!(
                        "range can't iterate over value of type {}",
                        other.type_name()
                    ),
                ));
            }
        };
        let mut flow = Flow::Normal;
        if count == 0 {
            if let Some(e) = &b.else_list {
                flow = self.walk_list(dot, e)?;
            }
        } else {
            // Elements are produced one at a time: `range 1000000000` allocates nothing and
            // stops at the step limit.
            let mut keys = match &val {
                Value::Map(m) | Value::StrMap(m) => Some(m.iter()),
                _ => None,
            };
            for i in 0..count {
                let (index, elem) = match (&val, keys.as_mut()) {
                    (_, Some(it)) => match it.next() {
                        Some((k, v)) => (Value::from(k.as_str()), v.clone()),
                        None => break,
                    },
                    (Value::List(l), None) => (Value::Int(i as i64), l[i as usize].clone()),
                    _ => (Value::Int(i as i64), Value::Int(i as i64)),
                };
                if self.range_body(b, index, elem)? {
                    break;
                }
            }
        }
        self.vars.truncate(mark);
        Ok(flow)
    }

    /// One iteration of `range`; true on `{{break}}`.
    fn range_body(&mut self, b: &'t Branch, index: Value, elem: Value) -> R<bool> {
        self.step()?;
        let ndecl = b.pipe.decl.len();
        if ndecl > 0 {
            if b.pipe.is_assign {
                let v = if ndecl > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(&b.pipe.decl[0], v);
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if ndecl > 1 {
            if b.pipe.is_assign {
                self.set_var(&b.pipe.decl[1], elem.clone());
            } else {
                self.set_top_var(2, index);
            }
        }
        let inner = self.vars.len();
        let r = self.walk_list(&elem, &b.list)?;
        self.vars.truncate(inner);
        Ok(matches!(r, Flow::Break))
    }

    fn set_top_var(&mut self, n: usize, v: Value) {
        let len = self.vars.len();
        self.vars[len - n].1 = v;
    }

    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        }
    }

    fn var_value(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    /// A parenthesized pipeline.
    fn eval_nested(&mut self, dot: &Value, pipe: &'t Pipe) -> R<Value> {
        self.enter(pipe.pos)?;
        let r = self.eval_pipeline(dot, pipe);
        self.leave();
        r
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'t Command, fin: Option<Value>) -> R<Value> {
        self.step()?;
        let has_args = cmd.args.len() > 1 || fin.is_some();
        let first = &cmd.args[0];
        let r = match first {
            Arg::Field(fields) => self.eval_fields(dot, true, fields, has_args),
            Arg::Chain { node, fields } => {
                if let Arg::Nil = **node {
                    Err(ExecErr("indirection through explicit nil".into()))
                } else {
                    let recv = self.eval_arg(dot, P::Any, node, cmd)?;
                    self.eval_fields(&recv, false, fields, has_args)
                }
            }
            Arg::Func { id, name } => {
                return self.eval_function(dot, *id, name, cmd, &cmd.args[1..], fin);
            }
            Arg::Pipe(p) => {
                if has_args {
                    Err(ExecErr("can't give argument to non-function".into()))
                } else {
                    return self.eval_nested(dot, p);
                }
            }
            Arg::Variable { name, fields } => {
                let v = self.var_value(name);
                if fields.is_empty() {
                    if has_args {
                        Err(ExecErr(format!(
                            "can't give argument to non-function {name}"
                        )))
                    } else {
                        Ok(v)
                    }
                } else {
                    self.eval_fields(&v, true, fields, has_args)
                }
            }
            _ if has_args => Err(ExecErr(format!(
                "can't give argument to non-function {}",
                first.describe()
            ))),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Dot => Ok(dot.clone()),
            Arg::Nil => Err(ExecErr("nil is not a command".into())),
            Arg::Number(n) => Ok(ideal_constant(n)),
            Arg::String(s) => Ok(Value::String(s.clone())),
        };
        r.map_err(|e| self.cmd_err(cmd, e))
    }

    fn eval_fields(
        &self,
        recv: &Value,
        first_is_root: bool,
        fields: &[String],
        has_args: bool,
    ) -> Result<Value, ExecErr> {
        let mut cur = recv.clone();
        for (i, f) in fields.iter().enumerate() {
            let last = i == fields.len() - 1;
            cur = match &cur {
                Value::Map(m) | Value::StrMap(m) => {
                    if last && has_args {
                        return Err(ExecErr(format!("{f} is not a method but has arguments")));
                    }
                    match m.get(f.as_str()) {
                        Some(v) => v.clone(),
                        None => return Err(ExecErr(format!("map has no entry for key {f:?}"))),
                    }
                }
                Value::Nil if i == 0 && first_is_root => {
                    return Err(ExecErr(format!("nil data; no entry for key {f:?}")));
                }
                Value::Nil => {
                    return Err(ExecErr(format!(
                        "nil pointer evaluating interface {{}}.{f}"
                    )));
                }
                other => {
                    return Err(ExecErr(format!(
                        "can't evaluate field {f} in type {}",
                        other.type_name()
                    )));
                }
            };
        }
        Ok(cur)
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        id: funcs::FuncId,
        name: &str,
        cmd: &'t Command,
        args: &'t [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let def = funcs::def(id);
        let nargs = args.len() + usize::from(fin.is_some());
        let nparams = def.params.len();
        if def.variadic.is_some() {
            if nargs < nparams {
                return Err(self.cmd_err(
                    cmd,
                    ExecErr(format!(
                        "wrong number of args for {name}: want at least {nparams} got {nargs}"
                    )),
                ));
            }
        } else if nargs != nparams {
            return Err(self.cmd_err(
                cmd,
                ExecErr(format!(
                    "wrong number of args for {name}: want {nparams} got {nargs}"
                )),
            ));
        }
        let param = |i: usize| -> P {
            if i < nparams {
                def.params[i]
            } else {
                def.variadic.unwrap_or(P::Any)
            }
        };
        // and/or short-circuit like Go.
        if def.name == "and" || def.name == "or" {
            let want = def.name == "or";
            let mut last = Value::Nil;
            for a in args {
                last = self.eval_arg(dot, P::Any, a, cmd)?;
                if last.truthy() == want {
                    return Ok(last);
                }
            }
            if let Some(f) = fin {
                last = f;
            }
            return Ok(last);
        }
        let mut argv = Vec::with_capacity(nargs);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param(i), a, cmd)?);
        }
        if let Some(f) = fin {
            let p = param(args.len());
            argv.push(validate(f, p).map_err(|e| self.cmd_err(cmd, e))?);
        }
        let outcome = match def.imp {
            Imp::Plain(imp) => imp(&argv),
            Imp::Metered(imp) => imp(self.budget, &argv),
        };
        let result = outcome.and_then(|r| self.admit(r, &argv)).map_err(|e| {
            // `fail` carries a message chosen by the template author; it is only shown when it
            // is a string literal of the template, since a computed message may hold data.
            let msg = if def.name == "fail" && !matches!(args.first(), Some(Arg::String(_))) {
                "(message not shown: it is not a string literal of the template)".to_string()
            } else {
                e
            };
            self.cmd_err(cmd, ExecErr(format!("error calling {name}: {msg}")))
        })?;
        // Go maps are references: sprig's set/unset/merge mutate the dict they are given.
        // Values here are immutable, so the result is written back to the variable (or the
        // variable's nested field) the dict came from, which covers `$_ := set $d "k" "v"`.
        if MUTATORS.contains(&def.name)
            && let Some(Arg::Variable { name, fields }) = args.first()
        {
            let root = self.var_value(name);
            if let Some(updated) = replace_path(&root, fields, &result) {
                self.set_var(name, updated);
            }
        }
        Ok(result)
    }

    /// Checks a function result against the limits and counts what it allocated: strings
    /// and the slots of lists and maps that are not shared with an argument.
    fn admit(&mut self, v: Value, args: &[Value]) -> Result<Value, String> {
        let limits = self.budget.limits();
        let fresh = |v: &Value| !args.iter().any(|a| a.shares_storage(v));
        let bytes = match &v {
            Value::String(s) => {
                if s.len() > limits.max_string_bytes {
                    return Err(self.budget.string_error());
                }
                if fresh(&v) { s.len() as u64 } else { 0 }
            }
            Value::List(_) | Value::Map(_) | Value::StrMap(_) => {
                self.budget.check_len(v.collection_len() as u128)?;
                if v.depth() > limits.max_value_depth {
                    return Err(format!(
                        "values would nest deeper than the limit of {} levels",
                        limits.max_value_depth
                    ));
                }
                match (&v, fresh(&v)) {
                    (_, false) => 0,
                    (Value::List(l), true) => crate::budget::list_bytes(l.len()),
                    (_, true) => v.as_map().map_or(0, |m| {
                        crate::budget::map_bytes(m.len(), m.keys().map(String::len).sum())
                    }),
                }
            }
            _ => 0,
        };
        self.budget.allocate(bytes)?;
        Ok(v)
    }

    fn eval_arg(&mut self, dot: &Value, ty: P, arg: &'t Arg, cmd: &'t Command) -> R<Value> {
        let v = match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => {
                if ty.can_be_nil() {
                    return Ok(Value::Nil);
                }
                return Err(self.cmd_err(
                    cmd,
                    ExecErr(format!("cannot assign nil to {}", ty.go_name())),
                ));
            }
            Arg::Field(fields) => self
                .eval_fields(dot, true, fields, false)
                .map_err(|e| self.cmd_err(cmd, e))?,
            Arg::Variable { name, fields } => {
                let v = self.var_value(name);
                if fields.is_empty() {
                    v
                } else {
                    self.eval_fields(&v, true, fields, false)
                        .map_err(|e| self.cmd_err(cmd, e))?
                }
            }
            Arg::Pipe(p) => self.eval_nested(dot, p)?,
            Arg::Func { id, name } => self.eval_function(dot, *id, name, cmd, &[], None)?,
            Arg::Chain { node, fields } => {
                let recv = self.eval_arg(dot, P::Any, node, cmd)?;
                self.eval_fields(&recv, false, fields, false)
                    .map_err(|e| self.cmd_err(cmd, e))?
            }
            Arg::Bool(b) => {
                return match ty {
                    P::Bool | P::Any => Ok(Value::Bool(*b)),
                    _ => Err(self.cmd_err(
                        cmd,
                        ExecErr(format!("expected {}; found {b}", ty.expect_word())),
                    )),
                };
            }
            Arg::Number(n) => {
                return match ty {
                    P::Any => Ok(ideal_constant(n)),
                    P::Int if n.is_int => Ok(Value::Int(n.int)),
                    P::Float if n.is_float => Ok(Value::Float(n.float)),
                    P::Int | P::Float | P::Str | P::Bool => Err(self.cmd_err(
                        cmd,
                        ExecErr(format!("expected {}; found number", ty.expect_word())),
                    )),
                    _ => Err(self.cmd_err(
                        cmd,
                        ExecErr(format!(
                            "can't handle number for arg of type {}",
                            ty.go_name()
                        )),
                    )),
                };
            }
            Arg::String(s) => {
                return match ty {
                    P::Any | P::Str => Ok(Value::String(s.clone())),
                    P::Int | P::Float | P::Bool => Err(self.cmd_err(
                        cmd,
                        ExecErr(format!("expected {}; found string", ty.expect_word())),
                    )),
                    _ => Err(self.cmd_err(
                        cmd,
                        ExecErr(format!(
                            "can't handle string for arg of type {}",
                            ty.go_name()
                        )),
                    )),
                };
            }
        };
        validate(v, ty).map_err(|e| self.cmd_err(cmd, e))
    }
}

/// sprig functions that modify their first (dict) argument in Go.
const MUTATORS: &[&str] = &[
    "set",
    "unset",
    "merge",
    "mergeOverwrite",
    "mustMerge",
    "mustMergeOverwrite",
];

/// `root` with the value at `path` (map keys) replaced by `new`; `None` if the path does
/// not lead through maps.
fn replace_path(root: &Value, path: &[String], new: &Value) -> Option<Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(new.clone());
    };
    match root {
        Value::Map(m) => {
            let child = m.get(first.as_str())?;
            let updated = replace_path(child, rest, new)?;
            let mut copy = m.clone();
            copy.insert(first.clone(), updated);
            Some(Value::Map(copy))
        }
        _ => None,
    }
}

/// Go's typing of an untyped constant in an `interface{}` context.
fn ideal_constant(n: &Number) -> Value {
    if n.float_typed || !n.is_int {
        Value::Float(n.float)
    } else {
        Value::Int(n.int)
    }
}

/// Go's `validateType`: check a value against a parameter type.
fn validate(v: Value, ty: P) -> Result<Value, ExecErr> {
    let ok = match (&v, ty) {
        (Value::Nil, t) => {
            if t.can_be_nil() {
                return Ok(Value::Nil);
            }
            return Err(ExecErr(format!("invalid value; expected {}", t.go_name())));
        }
        (_, P::Any) => true,
        (Value::String(_), P::Str) => true,
        (Value::Int(_), P::Int) => true,
        (Value::Float(_), P::Float) => true,
        (Value::Bool(_), P::Bool) => true,
        (Value::Map(_), P::Map) => true,
        (Value::List(_), P::List) => true,
        (Value::Time(_), P::Time) => true,
        _ => false,
    };
    if ok {
        Ok(v)
    } else {
        Err(ExecErr(format!(
            "wrong type for value; expected {}; got {}",
            ty.go_name(),
            v.type_name()
        )))
    }
}
