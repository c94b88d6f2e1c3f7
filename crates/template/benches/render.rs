//! Render benchmarks: parse once, render many (target: ≤ 50 µs per ExternalSecret).
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use secretsync_template::{Context, ParseOptions, Template};
use std::hint::black_box;

fn ctx() -> Context {
    [
        ("username", "admin"),
        ("password", "correct-horse-battery-staple"),
        ("host", "db.example.internal"),
        ("port", "5432"),
        (
            "config",
            r#"{"db":{"name":"app","pool":10},"tags":["a","b"]}"#,
        ),
    ]
    .into_iter()
    .collect()
}

fn bench(c: &mut Criterion) {
    let opts = ParseOptions::default();
    let ctx = ctx();
    let simple = Template::parse("k", "{{ .username }}:{{ .password }}", &opts).expect("parse");
    let typical = Template::parse(
        "k",
        "postgres://{{ .username | urlquery }}:{{ .password | urlquery }}@{{ .host }}:{{ .port }}/{{ (fromJson .config).db.name }}?sslmode=require",
        &opts,
    )
    .expect("parse");
    let heavy_src = r#"{{- $c := fromJson .config -}}
config.yaml: |
{{- range $k, $v := $c.db }}
  {{ $k }}: {{ $v }}
{{- end }}
auth: {{ printf "%s:%s" .username .password | b64enc }}
tags: {{ $c.tags | join "," | upper | quote }}
{{ toYaml (dict "user" .username "host" .host "port" (.port | atoi)) }}"#;
    let heavy = Template::parse("k", heavy_src, &opts).expect("parse");

    c.bench_function("render_simple", |b| {
        b.iter(|| black_box(simple.render(black_box(&ctx))))
    });
    c.bench_function("render_typical_dsn", |b| {
        b.iter(|| black_box(typical.render(black_box(&ctx))))
    });
    c.bench_function("render_heavy", |b| {
        b.iter(|| black_box(heavy.render(black_box(&ctx))))
    });
    c.bench_function("parse_heavy", |b| {
        b.iter(|| black_box(Template::parse("k", black_box(heavy_src), &opts)))
    });
    c.bench_function("es_5_keys_parse_and_render", |b| {
        b.iter(|| {
            for key in ["a", "b", "c", "d", "e"] {
                let t = Template::parse(
                    key,
                    black_box("{{ .username }}-{{ .password | b64enc }}"),
                    &opts,
                )
                .expect("parse");
                black_box(t.render(&ctx).expect("render"));
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
