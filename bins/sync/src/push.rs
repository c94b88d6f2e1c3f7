//! `secretsync push`: the PushSecrets of the files, pushed once as the operator would (same
//! engine decisions and provider write paths), for CI. Source Secrets and stores come from the
//! files, else from the cluster when one is configured. There is no previous status in a
//! one-shot run, so nothing is deleted (`deletionPolicy` applies in the operator).

use std::process::ExitCode;

use secretsync_engine::GenerateError;
use secretsync_engine::TemplateSourceKind;
use secretsync_engine::push::data_to::{TargetStore, check_rules_reach_stores, plan_store};
use secretsync_engine::push::run::{open_store, push_to_store};
use secretsync_engine::push::{apply_push_template, resolve_push_template};
use secretsync_engine::templates::TemplateCache;
use secretsync_model::push_secret::PushSecret;

use crate::cli::Source;
use crate::exit::{Class, Failure};
use crate::session::{ClusterNeed, Session, finish};

/// Runs `push`; one line per store pushed to, problems to stderr.
pub async fn run(source: &Source, quiet: bool) -> ExitCode {
    let session = match Session::open(source, ClusterNeed::Optional).await {
        Ok(s) => s,
        Err(f) => return finish("push", 0, &[f], None, quiet),
    };
    let templates = TemplateCache::new(Default::default(), 64);
    let mut failures = session.failures.clone();
    let selected: Vec<&(String, PushSecret)> = session
        .push_secrets
        .iter()
        .filter(|(_, ps)| {
            source
                .namespace
                .as_deref()
                .is_none_or(|ns| namespace_of(ps) == ns)
        })
        .collect();
    for (origin, ps) in &selected {
        match push_one(&session, &templates, ps).await {
            Ok(lines) => {
                if !quiet {
                    for l in lines {
                        eprintln!("{origin}: {l}");
                    }
                }
            }
            Err(f) => failures.push(Failure::new(f.class, format!("{origin}: {}", f.message))),
        }
    }
    // Providers are shared by every PushSecret of the run (one login per store); closing
    // revokes their sessions.
    session.engine.close().await;
    finish("push", selected.len(), &failures, None, quiet)
}

fn namespace_of(ps: &PushSecret) -> &str {
    ps.metadata
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
}

/// Pushes one PushSecret to each of its stores; returns a line per store.
async fn push_one(
    session: &Session,
    templates: &TemplateCache,
    ps: &PushSecret,
) -> Result<Vec<String>, Failure> {
    let ns = namespace_of(ps);
    let name = ps.metadata.name.clone().unwrap_or_default();
    let object = format!("PushSecret {ns}/{name}");
    let invalid = |m: String| Failure::new(Class::Invalid, format!("{object}: {m}"));
    let data = match &ps.spec.selector.generator_ref {
        // A generator runs once per invocation (each run pushes a new value, as each refresh
        // does in the operator).
        Some(reference) => session
            .engine
            .run_generator(ns, reference, session.env.as_ref())
            .await
            .map(|(_, generated)| generated.data)
            .map_err(|e| {
                let class = match e {
                    GenerateError::Provider(_) => Class::Unavailable,
                    _ => Class::Invalid,
                };
                Failure::new(
                    class,
                    format!(
                        "{object}: spec.selector.generatorRef ({} {}): {e}",
                        reference.kind, reference.name
                    ),
                )
            })?,
        None => source_secret(session, ps, ns, &object).await?,
    };
    let sources = resolve_push_template(ps.spec.template.as_ref(), session.env.as_ref(), ns)
        .await
        .map_err(|e| invalid(e.to_string()))?;
    let data = apply_push_template(ps.spec.template.as_ref(), &sources, data, templates)
        .map_err(|e| invalid(e.to_string()))?;
    let mut lines = Vec::new();
    for (i, r) in ps.spec.secret_store_refs.iter().enumerate() {
        let store_name = r.name.clone().filter(|n| !n.is_empty()).ok_or_else(|| {
            invalid(format!(
                "spec.secretStoreRefs[{i}]: expected a store name (label selectors need the operator)"
            ))
        })?;
        let store = open_store(
            session.engine.fetch_layer(),
            session.env.as_ref(),
            ns,
            r.kind,
            &store_name,
        )
        .await
        .map_err(|m| Failure::new(Class::Unavailable, format!("{object}: {m}")))?;
        let no_labels = std::collections::BTreeMap::new();
        let target = TargetStore {
            kind: r.kind,
            name: &store_name,
            labels: &no_labels,
        };
        check_rules_reach_stores(&ps.spec.data_to, &[target])
            .map_err(|e| invalid(format!("{e} (label selectors need the operator)")))?;
        let planned = plan_store(&ps.spec.data, &ps.spec.data_to, target, &data, templates)
            .map_err(|e| invalid(e.to_string()))?;
        let pushed = push_to_store(&store, &planned, ps.spec.update_policy).await;
        if let Some(m) = pushed.error {
            let class = if m.contains("not managed") {
                Class::Invalid
            } else {
                Class::Unavailable
            };
            return Err(Failure::new(class, format!("{object}: {m}")));
        }
        lines.push(format!(
            "{object}: {} entries synced to {}, {} written",
            pushed.synced.len(),
            store.key,
            pushed.written
        ));
    }
    Ok(lines)
}

/// The data of the source Secret `selector.secret.name` names (label selectors need the
/// operator).
async fn source_secret(
    session: &Session,
    ps: &PushSecret,
    ns: &str,
    object: &str,
) -> Result<secretsync_model::SecretData, Failure> {
    let secret = ps
        .spec
        .selector
        .secret
        .as_ref()
        .and_then(|s| s.name.clone())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            Failure::new(
                Class::Invalid,
                format!("{object}: spec.selector.secret.name: expected a Secret name (label selectors need the operator)"),
            )
        })?;
    session
        .env
        .template_source(TemplateSourceKind::Secret, ns, &secret)
        .await
        .map_err(|e| {
            let class = if e.unavailable {
                Class::Unavailable
            } else {
                Class::Invalid
            };
            Failure::new(
                class,
                format!("{object}: source Secret {ns}/{secret}: {}", e.message),
            )
        })
}
