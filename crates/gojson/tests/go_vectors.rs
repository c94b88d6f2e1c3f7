//! Output of Go's own `encoding/json` (tests/go_vectors.json, produced by
//! tests/gen_go_vectors.go with Go 1.27.3) against `secretsync-gojson`: strings with every
//! kind of control, HTML, line-separator and invalid-UTF-8 byte, float64 edge values,
//! documents decoded into `any` (sorted keys, `MarshalIndent` layout) and a `map[string]string`.

use secretsync_gojson::{Encoder, Options, encode_string_map, encode_value};

#[derive(serde::Deserialize)]
struct Vector {
    name: String,
    kind: String,
    input: serde_json::Value,
    html: String,
    raw: String,
    pretty: String,
}

const HTML: Options = Options {
    escape_html: true,
    pretty: false,
};
const RAW: Options = Options {
    escape_html: false,
    pretty: false,
};
const PRETTY: Options = Options {
    escape_html: true,
    pretty: true,
};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn encode_with(options: Options, write: impl FnOnce(&mut Encoder<'_>)) -> String {
    let mut out = Vec::new();
    write(&mut Encoder::new(&mut out, options, usize::MAX));
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn matches_go_encoding_json() {
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("go_vectors.json")).expect("vectors");
    assert!(vectors.len() > 25);
    for v in vectors {
        let (html, raw, pretty) = match v.kind.as_str() {
            "string" => {
                let bytes = hex(v.input.as_str().expect("hex input"));
                let one = |o| encode_with(o, |e| e.string(&bytes).expect("string"));
                (one(HTML), one(RAW), one(PRETTY))
            }
            "float" => {
                let f = v.input.as_f64().expect("float");
                let one = |o| encode_with(o, |e| e.float(f).expect("float"));
                (one(HTML), one(RAW), one(PRETTY))
            }
            "document" => {
                let doc: serde_json::Value =
                    serde_json::from_str(v.input.as_str().expect("document")).expect("JSON");
                let one = |o| encode_value(&doc, o).expect("encodes");
                (one(HTML), one(RAW), one(PRETTY))
            }
            "string-map" => {
                let map = v.input.as_object().expect("map");
                let entries: Vec<(&str, &str)> = map
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().expect("string")))
                    .collect();
                let html = encode_string_map(entries);
                (html, v.raw.clone(), v.pretty.clone())
            }
            other => panic!("unknown vector kind {other}"),
        };
        assert_eq!(html, v.html, "{}: json.Marshal", v.name);
        assert_eq!(raw, v.raw, "{}: SetEscapeHTML(false)", v.name);
        assert_eq!(pretty, v.pretty, "{}: MarshalIndent", v.name);
    }
}
