//! `template.templateFrom` entries resolved through the host: the named ConfigMap and Secret
//! items and literals, ready to render. Shared by ExternalSecret and PushSecret templates.

use secretsync_model::external_secret::{TemplateFrom, TemplateScope};

use crate::env::{SyncEnvironment, TemplateSourceKind};
use crate::templates::ResolvedTemplateFrom;

/// Why a `templateFrom` entry could not be resolved: the field and what is wrong (names of
/// objects and keys, never their values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateFromError {
    /// `spec.target.template.templateFrom[0].secret`.
    pub location: String,
    /// What went wrong.
    pub message: String,
}

/// Reads the sources of `from` (at field path `location`) in `namespace`.
pub(crate) async fn resolve_template_from(
    env: &dyn SyncEnvironment,
    namespace: &str,
    location: String,
    from: &TemplateFrom,
) -> Result<ResolvedTemplateFrom, TemplateFromError> {
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
        let error = |message: String| TemplateFromError {
            location: format!("{location}.{field}"),
            message,
        };
        let source = env
            .template_source(kind, namespace, &reference.name)
            .await
            .map_err(|e| error(format!("{kind} {:?}: {}", reference.name, e.message)))?;
        for item in &reference.items {
            let value = source.get(&item.key).ok_or_else(|| {
                error(format!(
                    "{kind} {:?} has no key {:?}",
                    reference.name, item.key
                ))
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
