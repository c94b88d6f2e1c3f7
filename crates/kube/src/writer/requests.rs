//! The writer's requests to the API server, one function each.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};

use super::{WriteError, Writer, kube_error, plan};

impl Writer {
    /// Create-only (POST): `Ok(None)` when the Secret exists after all (409), so it is never
    /// overwritten without being read and planned for first.
    pub(super) async fn create(
        &self,
        ns: &str,
        name: &str,
        manager: &str,
        body: Value,
    ) -> Result<Option<Secret>, WriteError> {
        let secret: Secret = serde_json::from_value(body)
            .map_err(|e| kube_error(ns, name, "create", kube::Error::SerdeError(e)))?;
        let params = PostParams {
            field_manager: Some(manager.to_string()),
            ..PostParams::default()
        };
        match self.api(ns).create(&params, &secret).await {
            Ok(created) => Ok(Some(created)),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(None),
            Err(e) => Err(kube_error(ns, name, "create", e)),
        }
    }

    /// Server-side apply with `force` as `manager`.
    pub(super) async fn apply(
        &self,
        ns: &str,
        name: &str,
        manager: &str,
        body: Value,
    ) -> Result<Secret, WriteError> {
        let params = PatchParams::apply(manager).force();
        self.api(ns)
            .patch(name, &params, &Patch::Apply(body))
            .await
            .map_err(|e| kube_error(ns, name, "apply", e))
    }

    /// Moves what `manager` owns through `Update` operations to its `Apply` entry
    /// ([`plan::ownership_upgrade`]) before an apply of `body`, so that the apply prunes fields it no
    /// longer sets. Guarded by the read `resourceVersion`; a failure only postpones it (the
    /// apply itself does not depend on it).
    pub(super) async fn upgrade_ownership(&self, live: &Secret, manager: &str, body: &Value) {
        let Some(entries) = live.metadata.managed_fields.as_deref() else {
            return;
        };
        if !plan::upgrade_needed(entries, manager, body) {
            return;
        }
        let Some(upgraded) = plan::ownership_upgrade(entries, manager) else {
            return;
        };
        let (ns, name) = (
            live.metadata.namespace.as_deref().unwrap_or_default(),
            live.metadata.name.as_deref().unwrap_or_default(),
        );
        // A merge patch replaces the list; its resourceVersion is a precondition.
        let patch = json!({"metadata": {
            "resourceVersion": live.metadata.resource_version,
            "managedFields": upgraded,
        }});
        if let Err(e) = self
            .api(ns)
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            tracing::debug!(namespace = ns, secret = name, error = %crate::sanitize::api_error(&e),
                "ownership upgrade postponed");
        }
    }

    /// Deletes `namespace/name` if it is still the object `uid`: `Ok(false)` when it is gone or
    /// is another object by now.
    pub(super) async fn delete_exactly(
        &self,
        ns: &str,
        name: &str,
        uid: Option<&str>,
        action: &'static str,
    ) -> Result<bool, WriteError> {
        let mut params = DeleteParams::default();
        if let Some(uid) = uid {
            params = params.preconditions(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            });
        }
        self.targets.forget(ns, name);
        match self.api(ns).delete(name, &params).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(false),
            Err(e) => Err(kube_error(ns, name, action, e)),
        }
    }
}
