//! Fuzz target: arbitrary bytes as a template (with a delimiter choice from the first
//! byte) must never panic, hang or overflow the stack in the parser or the executor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secretsync_template::{Context, ParseOptions, Template};

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
        let ctx: Context = [("a", "alpha"), ("json", r#"{"k":[1,"x",null]}"#), ("bin", "\u{0}\u{ff}")]
            .into_iter()
            .collect();
        let _ = t.render(&ctx);
    }
});
