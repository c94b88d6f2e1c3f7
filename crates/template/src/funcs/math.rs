//! sprig integer and float math.

use rand::Rng;

use super::collections::until_step;
use super::{FuncDef, P, arg_int, f, m, to_float64, to_int64};
use crate::budget::Budget;
use crate::value::{Value, shortest_digits};

pub(crate) const FUNCS: &[FuncDef] = &[
    f("add1", &[P::Any], None, |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    }),
    f("add", &[], Some(P::Any), |a| {
        Ok(Value::Int64(
            a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
        ))
    }),
    f("sub", &[P::Any, P::Any], None, |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    }),
    f("div", &[P::Any, P::Any], None, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    }),
    f("mod", &[P::Any, P::Any], None, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    }),
    f("mul", &[P::Any], Some(P::Any), |a| {
        Ok(Value::Int64(
            a.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
        ))
    }),
    f("randInt", &[P::Int, P::Int], None, |a| {
        let (lo, hi) = (arg_int(a, 0), arg_int(a, 1));
        if hi <= lo {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(rand::rng().random_range(lo..hi)))
    }),
    f("max", &[P::Any], Some(P::Any), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
    }),
    f("biggest", &[P::Any], Some(P::Any), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
    }),
    f("min", &[P::Any], Some(P::Any), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
    }),
    f("maxf", &[P::Any], Some(P::Any), |a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
        ))
    }),
    f("minf", &[P::Any], Some(P::Any), |a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
        ))
    }),
    f("floor", &[P::Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    }),
    f("ceil", &[P::Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    }),
    f("round", &[P::Any, P::Int], Some(P::Float), round),
    f("add1f", &[P::Any], None, |a| {
        Ok(Value::Float(dec_op(&a[0], &[Value::Int(1)], Op::Add)))
    }),
    f("addf", &[], Some(P::Any), |a| {
        Ok(Value::Float(dec_op(&Value::Float(0.0), a, Op::Add)))
    }),
    f("subf", &[P::Any], Some(P::Any), |a| {
        Ok(Value::Float(dec_op(&a[0], &a[1..], Op::Sub)))
    }),
    f("mulf", &[P::Any], Some(P::Any), |a| {
        Ok(Value::Float(dec_op(&a[0], &a[1..], Op::Mul)))
    }),
    f("divf", &[P::Any], Some(P::Any), |a| {
        if a[1..].iter().any(|v| to_float64(v) == 0.0) {
            return Err("decimal division by 0".into());
        }
        Ok(Value::Float(dec_op(&a[0], &a[1..], Op::Div)))
    }),
    m("seq", &[], Some(P::Int), seq),
];

fn round(a: &[Value]) -> Result<Value, String> {
    let round_on = match a.get(2) {
        Some(Value::Float(f)) => *f,
        _ => 0.5,
    };
    let val = to_float64(&a[0]);
    let pow = 10f64.powf(arg_int(a, 1) as f64);
    let digit = pow * val;
    let div = digit.fract();
    let r = if div >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(r / pow))
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// An exact decimal `mant × 10^exp`, like shopspring/decimal built from a float's
/// shortest representation.
#[derive(Clone, Copy)]
struct Dec {
    mant: i128,
    exp: i32,
}

impl Dec {
    fn from_f64(f: f64) -> Option<Dec> {
        if f == 0.0 {
            return Some(Dec { mant: 0, exp: 0 });
        }
        if !f.is_finite() {
            return None;
        }
        let (digits, dp) = shortest_digits(f);
        let mut mant: i128 = digits.parse().ok()?;
        if f < 0.0 {
            mant = -mant;
        }
        Some(Dec {
            mant,
            exp: dp - digits.len() as i32,
        })
    }

    fn align(a: Dec, b: Dec) -> Option<(i128, i128, i32)> {
        let exp = a.exp.min(b.exp);
        let sa = 10i128.checked_pow((a.exp - exp) as u32)?;
        let sb = 10i128.checked_pow((b.exp - exp) as u32)?;
        Some((a.mant.checked_mul(sa)?, b.mant.checked_mul(sb)?, exp))
    }

    fn apply(self, o: Dec, op: Op) -> Option<Dec> {
        match op {
            Op::Add => {
                let (x, y, e) = Dec::align(self, o)?;
                Some(Dec {
                    mant: x.checked_add(y)?,
                    exp: e,
                })
            }
            Op::Sub => {
                let (x, y, e) = Dec::align(self, o)?;
                Some(Dec {
                    mant: x.checked_sub(y)?,
                    exp: e,
                })
            }
            Op::Mul => Some(Dec {
                mant: self.mant.checked_mul(o.mant)?,
                exp: self.exp + o.exp,
            }),
            Op::Div => {
                // shopspring: DivisionPrecision = 16 fractional digits, rounded half away from zero.
                let prec = 16;
                let shift = prec + self.exp - o.exp;
                let (num, den) = if shift >= 0 {
                    (
                        self.mant.checked_mul(10i128.checked_pow(shift as u32)?)?,
                        o.mant,
                    )
                } else {
                    (
                        self.mant,
                        o.mant.checked_mul(10i128.checked_pow((-shift) as u32)?)?,
                    )
                };
                if den == 0 {
                    return None;
                }
                let q = num / den;
                let r = num % den;
                let q = if (r.abs() * 2) >= den.abs() {
                    q + num.signum() * den.signum()
                } else {
                    q
                };
                Some(Dec {
                    mant: q,
                    exp: -prec,
                })
            }
        }
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mant, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

fn dec_op(first: &Value, rest: &[Value], op: Op) -> f64 {
    let mut acc = Dec::from_f64(to_float64(first));
    let mut fallback = to_float64(first);
    for v in rest {
        let x = to_float64(v);
        fallback = match op {
            Op::Add => fallback + x,
            Op::Sub => fallback - x,
            Op::Mul => fallback * x,
            Op::Div => fallback / x,
        };
        acc = acc.and_then(|a| Dec::from_f64(x).and_then(|d| a.apply(d, op)));
    }
    acc.map_or(fallback, Dec::to_f64)
}

/// sprig's `seq` (GNU seq): numbers separated by spaces.
fn seq(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let p: Vec<i64> = a
        .iter()
        .map(|v| if let Value::Int(i) = v { *i } else { 0 })
        .collect();
    // Go's `end+increment` wraps around like here.
    let v = match p.as_slice() {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            until_step(budget, 1, end.wrapping_add(inc), inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(budget, *start, end.wrapping_add(step), step)?
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return Ok(Value::from(""));
                }
            }
            until_step(budget, *start, end.wrapping_add(inc), *step)?
        }
        _ => Vec::new(),
    };
    super::fmt::printed(budget, |out| {
        for (i, n) in v.iter().enumerate() {
            if i > 0 {
                out.push(b" ")?;
            }
            out.push(n.to_string().as_bytes())?;
        }
        Ok(())
    })
}
