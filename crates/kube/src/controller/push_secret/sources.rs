//! What a PushSecret reconcile pushes: the source data (a Secret by name, the Secrets its
//! label selector matches, or the values of `selector.generatorRef`, run once per refresh) and
//! the resolved `template.templateFrom` sources.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::core::{Selector, SelectorExt};
use secretsync_engine::push::{PushTemplateSources, resolve_push_template};
use secretsync_model::push_secret::PushSecret;
use secretsync_model::{SecretData, SecretValue};

use super::super::{Context, ReconcileError};

/// The sources of one reconcile.
pub(super) struct Found {
    /// One data set per source Secret (one for a generator).
    pub data: Vec<SecretData>,
    /// The template's `templateFrom` sources.
    pub template: PushTemplateSources,
}

/// Why there is nothing to push.
pub(super) enum NoSource {
    /// The source Secret does not exist (its pushed keys may need cleaning up).
    Missing,
    /// The generator or a template source failed: the status message (object, field, what
    /// went wrong; never a value).
    Failed(String),
}

/// Resolves the template sources and the source data of `ps` in `namespace`.
pub(super) async fn resolve(
    ps: &PushSecret,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<Found, NoSource>, ReconcileError> {
    let object = format!("PushSecret {namespace}/{}", ps.name_any());
    let template =
        match resolve_push_template(ps.spec.template.as_ref(), &ctx.environment, namespace).await {
            Ok(t) => t,
            Err(e) => return Ok(Err(NoSource::Failed(format!("{object}: {e}")))),
        };
    let data = if let Some(reference) = &ps.spec.selector.generator_ref {
        match ctx
            .syncer
            .generate(namespace, reference, &ctx.environment)
            .await
        {
            Ok(data) => vec![data],
            Err(m) => {
                return Ok(Err(NoSource::Failed(format!(
                    "{object}: spec.selector.generatorRef ({} {}): could not resolve secret from generator: {m}",
                    reference.kind, reference.name
                ))));
            }
        }
    } else {
        match source_secrets(ps, ctx, namespace).await? {
            Some(data) => data,
            None => return Ok(Err(NoSource::Missing)),
        }
    };
    Ok(Ok(Found { data, template }))
}

/// The source Secrets' data: one Secret by name, or every Secret matching the label selector.
/// `None` when the named Secret does not exist.
async fn source_secrets(
    ps: &PushSecret,
    ctx: &Context,
    namespace: &str,
) -> Result<Option<Vec<SecretData>>, ReconcileError> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let Some(selector) = &ps.spec.selector.secret else {
        return Ok(None);
    };
    let secrets = match (&selector.name, &selector.selector) {
        (Some(name), _) if !name.is_empty() => match api.get_opt(name).await? {
            Some(s) => vec![s],
            None => return Ok(None),
        },
        (_, Some(labels)) => {
            let Ok(sel) = Selector::try_from(labels.clone()) else {
                return Ok(None);
            };
            api.list(&ListParams::default().labels_from(&sel))
                .await?
                .items
        }
        _ => return Ok(None),
    };
    Ok(Some(
        secrets
            .into_iter()
            .map(|s| {
                s.data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, SecretValue::new(v.0)))
                    .collect()
            })
            .collect(),
    ))
}

/// Whether `ps` reads the Secret `name` with `labels` in its own namespace.
pub fn selects_secret(ps: &PushSecret, name: &str, labels: &BTreeMap<String, String>) -> bool {
    let Some(s) = &ps.spec.selector.secret else {
        return false;
    };
    match (&s.name, &s.selector) {
        (Some(n), _) if !n.is_empty() => n == name,
        (_, Some(sel)) => Selector::try_from(sel.clone()).is_ok_and(|sel| sel.matches(labels)),
        _ => false,
    }
}
