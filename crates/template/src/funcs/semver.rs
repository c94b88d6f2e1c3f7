//! sprig's `semver` and `semverCompare` with Masterminds/semver v3 rules (the version ESO's
//! vendored sprig uses): loose versions (`v1.2`, missing parts are 0), constraints with
//! `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `~>`, `^`, wildcards (`1.2.x`, `*`), hyphen
//! ranges (`1.2 - 1.4.5`), `,`/space for AND and `||` for OR; pre-release versions only
//! match constraints that carry a pre-release.
//!
//! `semver` returns a map with Go's method names as keys (`Major`, `Minor`, `Patch`,
//! `Prerelease`, `Metadata`, `Original`), so `(semver "1.2.3").Major` works as in Go;
//! printing the object prints the map (Go prints the version text).

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::{FuncDef, P, arg_str, f};
use crate::value::{Map, Value};

pub(crate) const FUNCS: &[FuncDef] = &[
    f("semver", &[P::Str], None, |a| {
        let v = Version::parse(&arg_str(a, 0)).ok_or_else(|| "invalid version".to_string())?;
        let mut m = Map::new();
        m.insert("Major".into(), Value::Int64(v.major as i64));
        m.insert("Minor".into(), Value::Int64(v.minor as i64));
        m.insert("Patch".into(), Value::Int64(v.patch as i64));
        m.insert("Prerelease".into(), Value::from(v.pre.clone()));
        m.insert("Metadata".into(), Value::from(v.meta.clone()));
        m.insert("Original".into(), Value::from(v.original.clone()));
        Ok(Value::from(m))
    }),
    f("semverCompare", &[P::Str, P::Str], None, |a| {
        let c = Constraints::parse(&arg_str(a, 0))
            .ok_or_else(|| "invalid version constraint".to_string())?;
        let v = Version::parse(&arg_str(a, 1)).ok_or_else(|| "invalid version".to_string())?;
        Ok(Value::Bool(c.check(&v)))
    }),
];

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=|!=|>|<|>=|=>|<=|=<|~|~>|\^";

#[allow(clippy::expect_used)]
static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$")
        .expect("static regex")
});
#[allow(clippy::expect_used)]
static CONSTRAINT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"^\s*({OPS})?\s*({CV})\s*$")).expect("static regex"));
#[allow(clippy::expect_used)]
static FIND_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"({OPS})?\s*({CV})")).expect("static regex"));
#[allow(clippy::expect_used)]
static VALID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(\s*({OPS})?\s*({CV})\s*)((?:\s+|,\s*)({OPS})?\s*({CV})\s*)*$"
    ))
    .expect("static regex")
});
#[allow(clippy::expect_used)]
static RANGE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).expect("static regex"));

/// A parsed version (Masterminds `NewVersion`).
#[derive(Clone, Debug)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
    original: String,
}

impl Version {
    pub(crate) fn parse(s: &str) -> Option<Version> {
        let m = VERSION_RE.captures(s)?;
        let num = |i: usize| -> Option<u64> {
            match m.get(i) {
                Some(g) => g.as_str().trim_start_matches('.').parse().ok(),
                None => Some(0),
            }
        };
        let pre = m.get(5).map_or("", |g| g.as_str()).to_string();
        // numeric pre-release identifiers must not have leading zeros
        if pre
            .split('.')
            .any(|p| p.len() > 1 && p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        Some(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre,
            meta: m.get(8).map_or("", |g| g.as_str()).to_string(),
            original: s.to_string(),
        })
    }

    fn cmp(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| compare_prerelease(&self.pre, &o.pre))
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = (pa.get(i), pb.get(i));
        let o = match (x, y) {
            (None, _) => Ordering::Less,
            (_, None) => Ordering::Greater,
            (Some(x), Some(y)) => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(p), Ok(q)) => p.cmp(&q),
                (Ok(_), Err(_)) => Ordering::Less,
                (Err(_), Ok(_)) => Ordering::Greater,
                _ => x.cmp(y),
            },
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

struct Constraint {
    op: String,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    fn parse(s: &str) -> Option<Constraint> {
        let m = CONSTRAINT_RE.captures(s)?;
        let op = m.get(1).map_or("", |g| g.as_str()).to_string();
        let part = |i: usize| m.get(i).map_or("", |g| g.as_str());
        let (major, minor, patch, pre) = (part(3), part(4), part(5), part(6));
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let ver = if is_x(major) || major.is_empty() {
            dirty = true;
            format!("0.0.0{pre}")
        } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
            dirty = true;
            minor_dirty = true;
            format!("{major}.0.0{pre}")
        } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
            dirty = true;
            patch_dirty = true;
            format!("{major}{minor}.0{pre}")
        } else {
            part(2).to_string()
        };
        Some(Constraint {
            op,
            con: Version::parse(&ver)?,
            dirty,
            minor_dirty,
            patch_dirty,
        })
    }

    /// `include_pre`: the AND group has a constraint with a pre-release (Masterminds
    /// checks pre-release versions only against such groups).
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        match self.op.as_str() {
            "!=" => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.cmp(c) != Ordering::Equal
            }
            ">" => {
                if !self.dirty {
                    return v.cmp(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.cmp(c) == Ordering::Greater
            }
            "<" => v.cmp(c) == Ordering::Less,
            ">=" | "=>" => v.cmp(c) != Ordering::Less,
            "<=" | "=<" => {
                if !self.dirty {
                    return v.cmp(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            "~" | "~>" => self.tilde(v),
            "^" => self.caret(v),
            // "" and "=": a wildcard makes it a tilde range, otherwise equality
            _ => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.cmp(c) == Ordering::Equal
                }
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.cmp(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.cmp(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}

/// Masterminds `Constraints`: OR of AND groups.
struct Constraints(Vec<Vec<Constraint>>);

impl Constraints {
    fn parse(s: &str) -> Option<Constraints> {
        let s = RANGE_RE.replace_all(s, |c: &regex::Captures<'_>| {
            format!(" >= {}, <= {} ", &c[1], &c[11])
        });
        let mut groups = Vec::new();
        for part in s.split("||") {
            if part.trim().is_empty() {
                // Masterminds: an empty constraint means any version (">=0.0.0")
                groups.push(vec![Constraint::parse("*")?]);
                continue;
            }
            if !VALID_RE.is_match(part) {
                return None;
            }
            let group = FIND_RE
                .find_iter(part)
                .map(|m| Constraint::parse(m.as_str()))
                .collect::<Option<Vec<_>>>()?;
            groups.push(group);
        }
        Some(Constraints(groups))
    }

    fn check(&self, v: &Version) -> bool {
        self.0.iter().any(|g| {
            let include_pre = g.iter().any(|c| !c.con.pre.is_empty());
            g.iter().all(|c| c.check(v, include_pre))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(c: &str, v: &str) -> bool {
        Constraints::parse(c)
            .unwrap()
            .check(&Version::parse(v).unwrap())
    }

    #[test]
    fn sprig_docs_and_tests() {
        // sprig docs/semver.md and functions_test: semverCompare "1.2.3" "1.2.3" → true,
        // "^1.2.0" "1.2.3" → true, "^1.2.0" "2.2.3" → false, ">=1.2.0-0" accepts pre-releases
        assert!(check("1.2.3", "1.2.3"));
        assert!(check("^1.2.0", "1.2.3"));
        assert!(!check("^1.2.0", "2.2.3"));
        assert!(check(">=1.2.3-0", "1.2.3-beta.1"));
    }

    #[test]
    fn masterminds_constraint_table() {
        // Masterminds/semver v3 constraints_test.go TestConstraintsCheck (a selection)
        for (c, v, want) in [
            ("*", "1.2.3", true),
            ("~0.0.0", "1.2.3", true),
            ("0.x.x", "1.2.3", false),
            ("0.0.x", "1.2.3", false),
            ("0.0.0", "1.2.3", false),
            ("^0.0.0", "1.2.3", false),
            ("= 2.0", "1.2.3", false),
            ("= 2.0", "2.0.0", true),
            ("4.1", "4.1.0", true),
            ("4.1.x", "4.1.3", true),
            ("1.x", "1.4", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1-alpha", "4.1.0-alpha", false),
            ("!=4.1-alpha", "4.1.1-alpha", false),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1", "5.1.0", true),
            ("!=4.x", "5.1.0", true),
            ("!=4.x", "4.1.0", false),
            ("!=4.1.x", "4.2.0", true),
            ("!=4.2.x", "4.2.3", false),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.1", "1.1.1", false),
            ("<1.x", "1.1.1", false),
            ("<1.x", "0.1.1", true),
            ("<1.x", "2.0.0", false),
            ("<1.1.x", "1.2.1", false),
            ("<1.1.x", "1.1.500", false),
            ("<1.1.x", "1.0.500", true),
            ("<1.2.x", "1.1.1", true),
            (">=1.1", "4.1.0", true),
            (">=1.1", "4.1.0-beta", false),
            (">=1.1", "1.1.0", true),
            (">=1.1", "0.0.9", false),
            ("<=1.1", "0.1.0", true),
            ("<=1.1", "0.1.0-alpha", false),
            ("<=1.1-a", "0.1.0-alpha", true),
            ("<=1.1", "1.1.0", true),
            ("<=1.x", "1.1.0", true),
            ("<=2.x", "3.0.0", false),
            ("<=1.1", "1.1.1", true),
            ("<=1.1.x", "1.2.500", false),
            ("<=4.5", "3.4.0", true),
            ("<=4.5", "3.7.0", true),
            ("<=4.5", "4.6.3", false),
            (">1.1, <2", "1.1.1", false),
            (">1.1, <2", "1.2.1", true),
            (">1.1, <3", "4.3.2", false),
            (">=1.1, <2, !=1.2.3", "1.2.3", false),
            (">1.1 <2", "1.2.1", true),
            (">=1.1    <2    !=1.2.3", "1.2.3", false),
            (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false),
            (">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
            (">= 1.1 <2 != 1.2.3 || > 3", "4.1.2", true),
            (">= 1.0.0  <= 2.0.0-beta", "1.0.1-beta", true),
            (">= 1.0.0  <= 2.0.0-beta", "1.0.1", true),
            (">= 1.0.0  <= 2.0.0-beta", "3.0.0", false),
            (">= 1.0.0  <= 2.0.0-beta || > 3", "3.0.1-beta", false),
            (
                ">= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3",
                "1.0.1-beta",
                false,
            ),
            (">= 1.0.0-0  <= 2.0.0", "1.0.1-beta", true),
            ("1.1 - 2", "1.1.1", true),
            ("1.5.0 - 4.5", "3.7.0", true),
            ("1.1-3", "4.3.2", false),
            ("^1.1", "1.1.1", true),
            ("^1.1", "4.3.2", false),
            ("^1.x", "1.1.1", true),
            ("^2.x", "1.1.1", false),
            ("^1.x", "2.1.1", false),
            ("^1.x", "1.1.1-beta1", false),
            ("^1.1.2-alpha", "1.2.1-beta1", true),
            ("^1.2.x-alpha", "1.1.1-beta1", false),
            ("^0.0.1", "0.0.1", true),
            ("^0.0.1", "0.3.1", false),
            ("~*", "2.1.1", true),
            ("~1", "2.1.1", false),
            ("~1", "1.3.5", true),
            ("~1", "1.4", true),
            ("~1.x", "2.1.1", false),
            ("~1.x", "1.3.5", true),
            ("~1.1", "1.1.1", true),
            ("~1.1", "1.1.1-alpha", false),
            ("~1.1-alpha", "1.1.1-beta", true),
            ("~1.1.1-beta", "1.1.1-alpha", false),
            ("~1.1.1-beta", "1.1.1", true),
            ("~1.2.3", "1.2.5", true),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.3.2", false),
            ("~1.1", "1.2.3", false),
            ("~1.3", "2.4.5", false),
            ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true),
            ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
            // TestConstraintCheck rows that go through the same paths
            ("*-0", "1.2.3-alpha.1", true),
            ("*", "1.2.3-alpha.1", false),
            ("", "4.5.6", true),
            ("", "1.2.3-alpha.1", false),
            ("2.*", "2.1.1", true),
            ("2.1.*", "2.2.1", false),
            ("<0-z", "0.0.0-alpha", true),
            (">0.0.0-0", "0.0.0-alpha", true),
            ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
            ("^0.2.3-beta.2", "0.2.4-beta.2", true),
            ("^0.2.3-beta.2", "0.3.4-beta.2", false),
        ] {
            assert_eq!(check(c, v), want, "{c} {v}");
        }
    }

    #[test]
    fn masterminds_new_constraint_errors() {
        // Masterminds/semver v3 constraints_test.go TestNewConstraint error rows
        for bad in [">= bar", "BAR >= 1.2.3", "12.3.4.1234", "12.3.34~ 1.2.3"] {
            assert!(Constraints::parse(bad).is_none(), "{bad}");
        }
        for good in [
            "12.3.34 ~1.2.3",
            ">= 1.2.3 < 2.0 || => 3.0 < 4",
            "3 - 4 || => 3.0, < 4",
        ] {
            assert!(Constraints::parse(good).is_some(), "{good}");
        }
    }

    #[test]
    fn invalid_inputs() {
        assert!(Version::parse("1.2.3.4").is_none());
        assert!(Version::parse("bad").is_none());
        assert!(Version::parse("1.2.3-01").is_none());
        let v = Version::parse("v1.2-beta.1+build").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 0));
        assert_eq!((v.pre.as_str(), v.meta.as_str()), ("beta.1", "build"));
    }
}
