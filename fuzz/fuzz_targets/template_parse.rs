//! Fuzz target: arbitrary bytes as a template (with a delimiter choice from the first
//! byte) must never panic, hang, overflow the stack or allocate without bound in the parser
//! or the executor, and errors never carry a context value.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use secretsync_template::{Budget, Context, Limits, ParseOptions, Template};

const CANARY: &str = "canary-fuzz-7d3a";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(src) = std::str::from_utf8(rest) else { return };
    let opts = match selector % 4 {
        0 => ParseOptions::default(),
        1 => ParseOptions { left_delim: "<<".into(), right_delim: ">>".into() },
        2 => ParseOptions { left_delim: "[[".into(), right_delim: "]]".into() },
        _ => ParseOptions { left_delim: "{".into(), right_delim: "}".into() },
    };
    if let Ok(t) = Template::parse("fuzz", src, &opts) {
        let ctx: Context = [
            ("a", "alpha"),
            ("json", r#"{"k":[1,"x",null]}"#),
            ("bin", "\u{0}\u{ff}"),
            ("password", CANARY),
        ]
        .into_iter()
        .collect();
        // Smaller limits than the defaults keep each run short; the code paths are the same.
        let mut budget = Budget::new(Limits {
            max_output_bytes: 1 << 20,
            max_string_bytes: 1 << 20,
            max_allocated_bytes: 16 << 20,
            max_steps: 200_000,
            max_cost: 60,
            deadline: Some(Duration::from_secs(5)),
            ..Limits::default()
        });
        if let Err(e) = t.render_with(&ctx, &mut budget) {
            let text = e.to_string();
            assert!(
                !text.contains(CANARY) || src.contains(CANARY) || src.contains("password"),
                "an error carries a context value: {text}"
            );
        }
    }
});
