//! The render step of a sync: `spec.target.template` (with `templateFrom` sources resolved
//! through the host) on the render pool, into the [`DesiredSecret`].

use secretsync_model::external_secret::{ExternalSecret, TemplateScope};
use secretsync_model::value::SecretData;

use super::SyncCtx;
use crate::env::TemplateSourceKind;
use crate::error::EngineError;
use crate::outcome::DesiredSecret;
use crate::templates::{ResolvedTemplateFrom, apply_template};

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
            resolved.push(self.resolve_template_from(i, from).await?);
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

    async fn resolve_template_from(
        &self,
        i: usize,
        from: &secretsync_model::external_secret::TemplateFrom,
    ) -> Result<ResolvedTemplateFrom, EngineError> {
        let location = format!("spec.target.template.templateFrom[{i}]");
        let mut items = Vec::new();
        for (kind, reference) in [
            (TemplateSourceKind::ConfigMap, from.config_map.as_ref()),
            (TemplateSourceKind::Secret, from.secret.as_ref()),
        ] {
            let Some(reference) = reference else { continue };
            let field = match kind {
                TemplateSourceKind::ConfigMap => "configMap",
                TemplateSourceKind::Secret => "secret",
            };
            let source = self
                .env
                .template_source(kind, self.namespace, &reference.name)
                .await
                .map_err(|e| EngineError::Environment {
                    object: self.object.to_string(),
                    location: format!("{location}.{field}"),
                    message: format!("{kind} {:?}: {}", reference.name, e.message),
                })?;
            for item in &reference.items {
                let value = source
                    .get(&item.key)
                    .ok_or_else(|| EngineError::Environment {
                        object: self.object.to_string(),
                        location: format!("{location}.{field}"),
                        message: format!("{kind} {:?} has no key {:?}", reference.name, item.key),
                    })?;
                let text = String::from_utf8_lossy(value.expose()).into_owned();
                items.push((item.key.clone(), item.template_as, text));
            }
        }
        if let Some(literal) = &from.literal {
            items.push((
                "literal".into(),
                TemplateScope::KeysAndValues,
                literal.clone(),
            ));
        }
        Ok(ResolvedTemplateFrom {
            location,
            items,
            target: from.target,
            decoding: from.values_decoding_strategy.unwrap_or_default(),
        })
    }
}
