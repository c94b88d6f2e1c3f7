//! Enough PromQL to check a dashboard against a scrape: the vector selectors of a query (metric
//! name and label matchers), matched against the series of a `/metrics` text with Prometheus'
//! semantics (fully anchored regexes, a missing label is the empty string) and the labels the
//! scrape target adds (`service`, `job`, ...).
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One label matcher: `name op "value"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Matcher {
    pub label: String,
    pub op: String,
    pub value: String,
}

/// One vector selector.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

/// One series of a scrape.
#[derive(Clone, Debug)]
pub struct Series {
    pub metric: String,
    pub labels: BTreeMap<String, String>,
}

const LABEL_LISTS: [&str; 4] = ["by", "without", "on", "ignoring"];
const KEYWORDS: [&str; 21] = [
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "group_left",
    "group_right",
    "inf",
    "nan",
];

/// Replaces Grafana's variables by a value each may take.
pub fn expand_grafana(query: &str, variables: &[(&str, &str)]) -> String {
    let mut q = query
        .replace("$__rate_interval", "5m")
        .replace("$__interval", "1m");
    for (name, value) in variables {
        q = q.replace(&format!("${{{name}}}"), value);
        q = q.replace(&format!("${name}"), value);
    }
    // Grafana's label_values(selector, label): the label is no metric.
    if let Some(inner) = q.trim().strip_prefix("label_values(")
        && let Some(comma) = inner.rfind(',')
    {
        q = inner[..comma].to_string();
    }
    q
}

/// The vector selectors of `query`.
pub fn selectors(query: &str) -> Result<Vec<Selector>, String> {
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '[' {
            // Range or subquery durations.
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i += 1;
        } else if c == '"' || c == '\'' {
            i = skip_string(&chars, i)?.1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let next = chars.get(j).copied();
            if LABEL_LISTS.contains(&word.as_str()) || word == "group_left" || word == "group_right"
            {
                if next == Some('(') {
                    while j < chars.len() && chars[j] != ')' {
                        j += 1;
                    }
                    i = j + 1;
                }
            } else if next == Some('(') || KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                // A function or aggregation: its arguments are scanned next.
            } else if next == Some('{') {
                let (matchers, end) = parse_matchers(&chars, j)?;
                out.push(Selector {
                    metric: word,
                    matchers,
                });
                i = end;
            } else {
                out.push(Selector {
                    metric: word,
                    matchers: Vec::new(),
                });
            }
        } else if c == '{' {
            return Err(format!("selector without a metric name in {query:?}"));
        } else {
            i += 1;
        }
    }
    Ok(out)
}

fn skip_string(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let quote = chars[start];
    let mut i = start + 1;
    let mut value = String::new();
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    value.push(match n {
                        'n' => '\n',
                        other => other,
                    });
                }
                i += 2;
            }
            c if c == quote => return Ok((value, i + 1)),
            c => {
                value.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated string".into())
}

fn parse_matchers(chars: &[char], open: usize) -> Result<(Vec<Matcher>, usize), String> {
    let mut i = open + 1;
    let mut out = Vec::new();
    loop {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        match chars.get(i) {
            Some('}') => return Ok((out, i + 1)),
            None => return Err("unterminated selector".into()),
            _ => {}
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let label: String = chars[start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let op_start = i;
        while i < chars.len() && matches!(chars[i], '=' | '!' | '~') {
            i += 1;
        }
        let op: String = chars[op_start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if !matches!(op.as_str(), "=" | "!=" | "=~" | "!~") || label.is_empty() {
            return Err(format!(
                "bad matcher near {:?}",
                chars[start..].iter().collect::<String>()
            ));
        }
        let (value, end) = skip_string(chars, i)?;
        out.push(Matcher { label, op, value });
        i = end;
    }
}

/// The series of a text exposition (comments skipped).
pub fn parse_scrape(text: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (metric, rest) = match line.find(['{', ' ']) {
            Some(p) => (&line[..p], &line[p..]),
            None => continue,
        };
        let mut labels = BTreeMap::new();
        if let Some(body) = rest.strip_prefix('{') {
            let chars: Vec<char> = body.chars().collect();
            let mut i = 0;
            while i < chars.len() && chars[i] != '}' {
                let start = i;
                while i < chars.len() && chars[i] != '=' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                let Ok((value, end)) = skip_string(&chars, i + 1) else {
                    break;
                };
                labels.insert(name.trim_matches(',').to_string(), value);
                i = end;
                if chars.get(i) == Some(&',') {
                    i += 1;
                }
            }
        }
        out.push(Series {
            metric: metric.to_string(),
            labels,
        });
    }
    out
}

fn matches(m: &Matcher, value: &str) -> bool {
    let full = |re: &str| {
        regex::Regex::new(&format!("^(?:{re})$"))
            .map(|r| r.is_match(value))
            .unwrap_or(false)
    };
    match m.op.as_str() {
        "=" => value == m.value,
        "!=" => value != m.value,
        "=~" => full(&m.value),
        "!~" => !full(&m.value),
        _ => false,
    }
}

/// The series `selector` selects, with `target` labels added to every series (as the scrape
/// configuration does; a series' own label of the same name wins only with honorLabels, which
/// the chart's ServiceMonitor leaves off, so the target's wins here).
pub fn select<'a>(
    selector: &Selector,
    series: &'a [Series],
    target: &[(&str, &str)],
) -> Vec<&'a Series> {
    series
        .iter()
        .filter(|s| s.metric == selector.metric)
        .filter(|s| {
            selector.matchers.iter().all(|m| {
                let value = target
                    .iter()
                    .find(|(k, _)| *k == m.label)
                    .map(|(_, v)| *v)
                    .or_else(|| s.labels.get(&m.label).map(String::as_str))
                    .unwrap_or("");
                matches(m, value)
            })
        })
        .collect()
}

#[test]
fn selectors_of_dashboard_shapes() {
    let q = r#"histogram_quantile(0.99, sum by (le) (rate(x_bucket{service=~"a.*", c!="b"}[5m]))) / sum(increase(y_total[1m])) by (name) > 0 and on(name) z"#;
    let s = selectors(q).unwrap();
    let names: Vec<&str> = s.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(names, ["x_bucket", "y_total", "z"]);
    assert_eq!(s[0].matchers.len(), 2);
    assert_eq!(s[0].matchers[0].op, "=~");
    let series = parse_scrape("x_bucket{le=\"1\",c=\"d\"} 3\n# HELP\nz 1\n");
    assert_eq!(select(&s[0], &series, &[("service", "abc")]).len(), 1);
    assert_eq!(select(&s[0], &series, &[("service", "zabc")]).len(), 0);
    assert!(selectors("{a=\"b\"}").is_err());
    assert_eq!(
        expand_grafana("label_values(m{a=\"$x\"}, controller)", &[("x", "v")]),
        "m{a=\"v\"}"
    );
}
