//! `spec.template` of a PushSecret, as ESO's `applyTemplate` for PushSecrets: the
//! `templateFrom` entries, then `template.data` (which wins), rendered over a copy of the
//! source data and merged into it (the source Secret itself is never changed; labels and
//! annotations the template renders are not pushed).

use secretsync_model::SecretData;
use secretsync_model::external_secret::{ExternalSecretTemplate, TemplateMergePolicy};

use super::PushPlanError;
use crate::env::SyncEnvironment;
use crate::template_from::resolve_template_from;
use crate::templates::{ResolvedTemplateFrom, TemplateCache, apply_template};

/// The `templateFrom` sources of a PushSecret's template, read once per reconcile and applied
/// to every source Secret.
#[derive(Default)]
pub struct PushTemplateSources(Vec<ResolvedTemplateFrom>);

impl std::fmt::Debug for PushTemplateSources {
    /// Names the number of entries only (items may hold values of Secrets).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PushTemplateSources({} entries)", self.0.len())
    }
}

/// Reads the ConfigMaps and Secrets `template.templateFrom` names, in `namespace`, through the
/// host. Errors name the field (`spec.template.templateFrom[0].configMap`) and the object.
pub async fn resolve_push_template(
    template: Option<&ExternalSecretTemplate>,
    env: &dyn SyncEnvironment,
    namespace: &str,
) -> Result<PushTemplateSources, PushPlanError> {
    let mut out = Vec::new();
    for (i, from) in template
        .map(|t| t.template_from.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let location = format!("spec.template.templateFrom[{i}]");
        let resolved = resolve_template_from(env, namespace, location, from)
            .await
            .map_err(|e| PushPlanError {
                field: e.location,
                message: e.message,
            })?;
        out.push(resolved);
    }
    Ok(PushTemplateSources(out))
}

/// Applies `spec.template` to the source data: the rendered `templateFrom` and `template.data`
/// keys are laid over the source keys (`template.data` last, so it wins).
pub fn apply_push_template(
    template: Option<&ExternalSecretTemplate>,
    sources: &PushTemplateSources,
    data: SecretData,
    cache: &TemplateCache,
) -> Result<SecretData, PushPlanError> {
    let Some(template) = template else {
        return Ok(data);
    };
    let merged = ExternalSecretTemplate {
        merge_policy: TemplateMergePolicy::Merge,
        ..template.clone()
    };
    let mut budget = cache.budget();
    apply_template(&merged, &sources.0, &data, cache, &mut budget)
        .map(|r| r.data)
        .map_err(|f| PushPlanError {
            // The renderer names ExternalSecret paths; a PushSecret's template is `spec.template`.
            field: f
                .location
                .replacen("spec.target.template", "spec.template", 1),
            message: f.message,
        })
}
