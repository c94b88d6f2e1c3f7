//! Hostile templates (issue #14): every template of `tests/hostile/corpus.json` renders to
//! Go's output or fails with a clear error naming the template, never a value; none panics,
//! overflows the stack or allocates without bound. The same corpus runs through
//! `secretsync render` (bins/sync/tests/integration/hostile_templates.rs) and the operator
//! (tests/tests/integration/kube_hostile_templates.rs).

use std::time::Duration;

use secretsync_template::{Budget, Context, Limits, ParseOptions, Template};

#[derive(serde::Deserialize)]
struct Corpus {
    templates: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    template: String,
    /// A fragment of the expected error.
    error: Option<String>,
    /// The exact expected output.
    output: Option<String>,
}

fn corpus() -> Vec<Case> {
    let text = include_str!("../hostile/corpus.json");
    serde_json::from_str::<Corpus>(text)
        .expect("corpus.json")
        .templates
}

const CANARY: &str = "canary-3f1e-never-in-an-error";

fn context() -> Context {
    [("password", CANARY)].into_iter().collect()
}

fn render(name: &str, source: &str, limits: Limits) -> Result<Vec<u8>, String> {
    let t = Template::parse(name, source, &ParseOptions::default()).map_err(|e| e.to_string())?;
    t.render_with(&context(), &mut Budget::new(limits))
        .map_err(|e| e.to_string())
}

/// Runs `f` on a thread with the stack the engine's render threads get.
fn on_render_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the render panicked")
}

#[test]
fn every_hostile_template_fails_cleanly_or_renders_like_go() {
    on_render_stack(|| {
        let mut failures = Vec::new();
        for case in corpus() {
            let result = render(&case.name, &case.template, Limits::default());
            let problem = match (&result, &case.error, &case.output) {
                (Err(e), Some(fragment), _) if !e.contains(fragment.as_str()) => {
                    Some(format!("error {e:?} lacks {fragment:?}"))
                }
                (Err(e), _, _) if !e.starts_with(&format!("template: {}", case.name)) => {
                    Some(format!("error {e:?} does not name the template"))
                }
                (Err(e), None, Some(_)) => Some(format!("unexpected error {e:?}")),
                (Ok(_), Some(fragment), _) => Some(format!("rendered, expected {fragment:?}")),
                (Ok(out), _, Some(want)) if out != want.as_bytes() => Some(format!(
                    "rendered {:?}, want {want:?}",
                    String::from_utf8_lossy(&out[..out.len().min(200)])
                )),
                _ => None,
            };
            if let Err(e) = &result {
                assert!(!e.contains(CANARY), "{}: a value leaked: {e}", case.name);
                assert!(e.len() < 2_000, "{}: error of {} bytes", case.name, e.len());
            }
            if let Some(p) = problem {
                failures.push(format!("{}: {p}", case.name));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    });
}

#[test]
fn a_template_source_over_the_limit_is_refused_at_parse_time() {
    let source = "x".repeat(secretsync_template::MAX_SOURCE_BYTES + 1);
    let e = render("big", &source, Limits::default()).unwrap_err();
    assert!(e.contains("longer than the limit"), "{e}");
}

#[test]
fn the_deadline_stops_a_long_render() {
    let limits = Limits {
        max_steps: u64::MAX,
        deadline: Some(Duration::from_millis(50)),
        ..Limits::default()
    };
    let e = render("slow", "{{ range 1000000000 }}{{ end }}", limits).unwrap_err();
    assert!(e.contains("deadline of 50 ms"), "{e}");
}

#[test]
fn expensive_functions_are_charged_before_they_run() {
    // A budget below one bcrypt: nothing is hashed.
    let limits = Limits {
        max_cost: secretsync_template::cost::BCRYPT - 1,
        ..Limits::default()
    };
    let e = render("b", r#"{{ bcrypt "x" }}"#, limits.clone()).unwrap_err();
    assert!(e.contains("error calling bcrypt"), "{e}");
    assert!(e.contains("cost units"), "{e}");
    for (name, source) in [
        ("rsa", r#"{{ genPrivateKey "rsa" }}"#),
        ("ca", r#"{{ genCA "x" 1 }}"#),
        ("scrypt", r#"{{ derivePassword 1 "long" "p" "u" "s" }}"#),
        ("htpasswd", r#"{{ htpasswd "u" "p" "bcrypt" }}"#),
    ] {
        let e = render(name, source, limits.clone()).unwrap_err();
        assert!(e.contains("cost units"), "{name}: {e}");
    }
    // One budget shared by several renders (the templates of one ExternalSecret).
    let mut budget = Budget::new(Limits {
        max_cost: 3 * secretsync_template::cost::EC_KEY,
        ..Limits::default()
    });
    let t = Template::parse(
        "k",
        r#"{{ genPrivateKey "ecdsa" }}"#,
        &ParseOptions::default(),
    )
    .expect("parse");
    for _ in 0..3 {
        t.render_with(&context(), &mut budget)
            .expect("within budget");
    }
    let e = t.render_with(&context(), &mut budget).unwrap_err();
    assert!(e.to_string().contains("cost units"), "{e}");
    assert_eq!(budget.cost_spent(), 3 * secretsync_template::cost::EC_KEY);
}

#[test]
fn deep_execution_fits_the_render_stack() {
    // The deepest nesting the parser accepts, inside the deepest template recursion the
    // limits allow, runs on a 2 MiB stack in a debug build.
    on_render_stack(|| {
        let inner = "{{if 1}}".repeat(190) + "{{ (((((1))))) }}" + &"{{end}}".repeat(190);
        let source = format!(r#"{{{{define "a"}}}}{inner}{{{{end}}}}{{{{template "a" .}}}}"#);
        render("deep", &source, Limits::default()).expect("renders");
        let recursion = r#"{{define "r"}}{{if lt (len .) 60}}{{template "r" (print . "x")}}{{end}}{{end}}{{template "r" ""}}"#;
        render("recursion", recursion, Limits::default()).expect("renders");
        let limits = Limits::default();
        let nest = "{{if 1}}".repeat(limits.max_exec_depth + 1);
        let source = format!(
            r#"{{{{define "n"}}}}{{{{if 1}}}}{{{{template "n" .}}}}{{{{end}}}}{{{{end}}}}{{{{template "n" .}}}}{nest}"#
        );
        let e = render("n", &source, limits).unwrap_err();
        assert!(!e.is_empty());
    });
}

#[test]
fn gated_functions_name_their_feature_when_left_out() {
    let r = render("p", "{{ pkcs12key .password }}", Limits::default());
    if cfg!(feature = "pkcs12") {
        assert!(r.unwrap_err().contains("unable to decode pkcs12"));
    } else {
        let e = r.unwrap_err();
        assert!(
            e.contains(r#"needs the secretsync-template feature "pkcs12""#),
            "{e}"
        );
    }
}
