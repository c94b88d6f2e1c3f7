//! Table tests of ESO's password rules, with seeded generators and the real CSPRNG.

use rand::SeedableRng;
use rand::rngs::StdRng;
use secretsync_model::generator::{PasswordEncoding, PasswordSpec};

use super::*;

fn spec(f: impl FnOnce(&mut PasswordSpec)) -> PasswordSpec {
    let mut s = PasswordSpec::default();
    f(&mut s);
    s
}

fn class_counts(p: &str, symbols: &str) -> (usize, usize, usize, usize) {
    let lower = p.chars().filter(char::is_ascii_lowercase).count();
    let upper = p.chars().filter(char::is_ascii_uppercase).count();
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let sym = p.chars().filter(|c| symbols.contains(*c)).count();
    (lower, upper, digits, sym)
}

#[test]
fn rules_follow_eso_defaults_and_limits() {
    struct Case {
        name: &'static str,
        spec: PasswordSpec,
        want: Result<(usize, usize, usize), &'static str>,
    }
    let cases = [
        Case {
            name: "defaults: 24 long, 25% digits and symbols",
            spec: PasswordSpec::default(),
            want: Ok((24, 6, 6)),
        },
        Case {
            name: "zero length means 24",
            spec: spec(|s| s.length = 0),
            want: Ok((24, 6, 6)),
        },
        Case {
            name: "negative length means 24",
            spec: spec(|s| s.length = -5),
            want: Ok((24, 6, 6)),
        },
        Case {
            name: "quarter rounds down",
            spec: spec(|s| s.length = 10),
            want: Ok((10, 2, 2)),
        },
        Case {
            name: "explicit counts",
            spec: spec(|s| {
                s.length = 16;
                s.digits = Some(0);
                s.symbols = Some(3);
            }),
            want: Ok((16, 0, 3)),
        },
        Case {
            name: "digits and symbols over the length",
            spec: spec(|s| {
                s.length = 8;
                s.digits = Some(5);
                s.symbols = Some(4);
            }),
            want: Err("spec.digits + spec.symbols"),
        },
        Case {
            name: "eleven distinct digits do not exist",
            spec: spec(|s| {
                s.length = 40;
                s.digits = Some(11);
            }),
            want: Err("spec.digits: 11 digits"),
        },
        Case {
            name: "eleven digits with repeats",
            spec: spec(|s| {
                s.length = 40;
                s.digits = Some(11);
                s.allow_repeat = true;
            }),
            want: Ok((40, 11, 10)),
        },
        Case {
            name: "27 lowercase letters do not exist",
            spec: spec(|s| {
                s.length = 27;
                s.digits = Some(0);
                s.symbols = Some(0);
                s.no_upper = true;
            }),
            want: Err("spec.length: 27 letters"),
        },
        Case {
            name: "more symbols than the set without repeats",
            spec: spec(|s| {
                s.symbol_characters = Some("!?".into());
                s.symbols = Some(3);
            }),
            want: Err("spec.symbols: 3 symbols"),
        },
        Case {
            name: "negative digits",
            spec: spec(|s| s.digits = Some(-1)),
            want: Err("spec.digits: expected 0 or more"),
        },
        Case {
            name: "too long",
            spec: spec(|s| s.length = MAX_LENGTH + 1),
            want: Err("spec.length: expected at most"),
        },
        Case {
            name: "longest allowed",
            spec: spec(|s| {
                s.length = MAX_LENGTH;
                s.allow_repeat = true;
            }),
            want: Ok((MAX_LENGTH as usize, 16_384, 16_384)),
        },
    ];
    for case in cases {
        let got = PasswordRules::of(&case.spec).map(|r| (r.length, r.digits, r.symbols));
        match (got, case.want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{}", case.name),
            (Err(got), Err(want)) => assert!(got.starts_with(want), "{}: {got}", case.name),
            (got, want) => panic!("{}: got {got:?}, want {want:?}", case.name),
        }
    }
}

#[test]
fn passwords_have_the_requested_properties() {
    struct Case {
        name: &'static str,
        spec: PasswordSpec,
        symbols: &'static str,
        /// lower+upper, digits, symbols
        counts: (usize, usize, usize),
        upper_allowed: bool,
    }
    let cases = [
        Case {
            name: "defaults",
            spec: PasswordSpec::default(),
            symbols: DEFAULT_SYMBOLS,
            counts: (12, 6, 6),
            upper_allowed: true,
        },
        Case {
            name: "no upper, custom symbols",
            spec: spec(|s| {
                s.length = 20;
                s.digits = Some(4);
                s.symbols = Some(2);
                s.symbol_characters = Some("-_".into());
                s.no_upper = true;
            }),
            symbols: "-_",
            counts: (14, 4, 2),
            upper_allowed: false,
        },
        Case {
            name: "letters only",
            spec: spec(|s| {
                s.length = 52;
                s.digits = Some(0);
                s.symbols = Some(0);
            }),
            symbols: DEFAULT_SYMBOLS,
            counts: (52, 0, 0),
            upper_allowed: true,
        },
        Case {
            name: "repeats allowed",
            spec: spec(|s| {
                s.length = 200;
                s.digits = Some(100);
                s.symbols = Some(50);
                s.symbol_characters = Some("#".into());
                s.allow_repeat = true;
            }),
            symbols: "#",
            counts: (50, 100, 50),
            upper_allowed: true,
        },
    ];
    for seed in 0..20u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        for case in &cases {
            let rules = PasswordRules::of(&case.spec).expect(case.name);
            let p = rules.generate(&mut rng).expect(case.name);
            let (lower, upper, digits, sym) = class_counts(&p, case.symbols);
            assert_eq!(
                p.chars().count(),
                case.spec.length as usize,
                "{}",
                case.name
            );
            assert_eq!(
                (lower + upper, digits, sym),
                case.counts,
                "{} (seed {seed})",
                case.name
            );
            if !case.upper_allowed {
                assert_eq!(upper, 0, "{}", case.name);
            }
            if !case.spec.allow_repeat {
                let mut chars: Vec<char> = p.chars().collect();
                chars.sort_unstable();
                chars.dedup();
                assert_eq!(chars.len(), p.chars().count(), "{}: repeats", case.name);
            }
        }
    }
}

#[test]
fn overlapping_symbols_without_repeats_fail_instead_of_spinning() {
    // Every letter is also a symbol: go-password would retry forever.
    let s = spec(|s| {
        s.length = 30;
        s.digits = Some(0);
        s.symbols = Some(4);
        s.no_upper = true;
        s.symbol_characters = Some("abcd".into());
    });
    let rules = PasswordRules::of(&s).expect("counts are fine on their own");
    let mut rng = StdRng::seed_from_u64(1);
    let err = rules
        .generate(&mut rng)
        .expect_err("no distinct symbol left");
    assert!(err.contains("symbolCharacters"), "{err}");
}

#[test]
fn keys_and_encodings_follow_eso() {
    let mut rng = rand::rng();
    let data = generate(&PasswordSpec::default(), &mut rng).expect("defaults");
    assert_eq!(data.keys().collect::<Vec<_>>(), ["password"]);
    let s = spec(|s| s.secret_keys = vec!["a".into(), "b".into()]);
    let data = generate(&s, &mut rng).expect("two keys");
    assert_eq!(data.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_ne!(
        data["a"].expose(),
        data["b"].expose(),
        "one password per key"
    );
    for keys in [vec!["a".to_string(), "a".into()], vec![String::new()]] {
        let s = spec(|s| s.secret_keys = keys);
        let err = generate(&s, &mut rng).expect_err("bad keys");
        assert!(err.starts_with("spec.secretKeys"), "{err}");
    }
    type Valid = fn(&str) -> bool;
    let cases: [(PasswordEncoding, Valid, usize); 5] = [
        (PasswordEncoding::Raw, |_| true, 24),
        (
            PasswordEncoding::Hex,
            |v| {
                v.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            },
            48,
        ),
        (
            PasswordEncoding::Base64,
            |v| base64::engine::general_purpose::STANDARD.decode(v).is_ok(),
            32,
        ),
        (
            PasswordEncoding::Base64url,
            |v| base64::engine::general_purpose::URL_SAFE.decode(v).is_ok(),
            32,
        ),
        (
            PasswordEncoding::Base32,
            |v| {
                v.chars()
                    .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c) || c == '=')
            },
            40,
        ),
    ];
    for (encoding, valid, len) in cases {
        let s = spec(|s| s.encoding = Some(encoding));
        let data = generate(&s, &mut rng).expect("encodes");
        let v = data["password"].expose_str().expect("text");
        assert_eq!(v.len(), len, "{encoding:?}");
        assert!(valid(v), "{encoding:?}");
    }
}
