//! The render step of a sync: `spec.target.template` (with `templateFrom` sources resolved
//! through the host) on the render pool, into the [`DesiredSecret`].

use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::value::SecretData;

use super::SyncCtx;
use crate::error::EngineError;
use crate::outcome::DesiredSecret;
use crate::template_from::resolve_template_from;
use crate::templates::apply_template;

impl SyncCtx<'_> {
    pub(super) async fn render(
        &self,
        es: &ExternalSecret,
        name: String,
        data: SecretData,
    ) -> Result<DesiredSecret, EngineError> {
        let target = &es.spec.target;
        let mut desired = DesiredSecret {
            name,
            namespace: self.namespace.to_string(),
            type_: "Opaque".into(),
            data: SecretData::new(),
            labels: Default::default(),
            annotations: Default::default(),
            finalizers: Vec::new(),
            immutable: target.immutable,
            creation_policy: target.creation_policy,
            deletion_policy: target.deletion_policy,
            templated: false,
        };
        let Some(template) = &target.template else {
            desired.data = data;
            return Ok(desired);
        };
        if let Some(t) = template.type_.as_deref().filter(|t| !t.is_empty()) {
            desired.type_ = t.to_string();
        }
        if let Some(m) = &template.metadata {
            desired.finalizers = m.finalizers.clone();
        }
        let mut resolved = Vec::with_capacity(template.template_from.len());
        for (i, from) in template.template_from.iter().enumerate() {
            let location = format!("spec.target.template.templateFrom[{i}]");
            let from = resolve_template_from(self.env, self.namespace, location, from)
                .await
                .map_err(|e| EngineError::Environment {
                    object: self.object.to_string(),
                    location: e.location,
                    message: e.message,
                })?;
            resolved.push(from);
        }
        // Rendering is CPU work up to the render deadline: it runs on the render pool, never
        // on this async worker, and every template of the ExternalSecret shares one budget.
        let cache = self.engine.templates.clone();
        let spec = template.clone();
        let rendered = self
            .engine
            .renderer
            .run(move || {
                let mut budget = cache.budget();
                apply_template(&spec, &resolved, &data, &cache, &mut budget)
            })
            .await
            .map_err(|e| EngineError::Template {
                object: self.object.to_string(),
                location: "spec.target.template".into(),
                message: e.to_string(),
            })?
            .map_err(|f| EngineError::Template {
                object: self.object.to_string(),
                location: f.location,
                message: f.message,
            })?;
        desired.templated = !template.data.is_empty() || !template.template_from.is_empty();
        desired.data = rendered.data;
        desired.labels = rendered.labels;
        desired.annotations = rendered.annotations;
        Ok(desired)
    }
}
