//! ESO's admission-webhook rules for ExternalSecrets, as CEL `x-kubernetes-validations` in the
//! generated CRDs: the API server itself rejects bad specs at apply time, with ESO's messages,
//! and no webhook has to run (ESO #956).
//!
//! [`RULES`] is the one list: [`crate::crd`] places each rule in the ExternalSecret schema (and
//! in ClusterExternalSecret's `externalSecretSpec`), the Kubernetes API double evaluates them,
//! and each rule carries a spec that breaks it and the field [`crate::validate`] reports for that
//! spec, so the Rust checks (run at sync time, and by the CLI) cover every apply-time rule.
//!
//! Not expressible within the API server's CEL cost budget on ESO's unbounded schemas: ESO's
//! duplicate-`secretKey` check (quadratic in `spec.data`); it stays a sync-time check.
//!
//! [`PUSH_RULES`] are ESO's CEL rules on PushSecrets (`x-kubernetes-validations` of
//! `apis/externalsecrets/v1alpha1/pushsecret_types.go`, all on `dataTo`), placed the same way
//! in the PushSecret spec and in ClusterPushSecret's `pushSecretSpec`; their bad specs are
//! checked against [`crate::push_secret::validate_push_secret`].

/// Where a rule sits, relative to an `ExternalSecretSpec` schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The spec itself.
    Spec,
    /// `spec.target`.
    Target,
    /// `spec.target.template`.
    Template,
    /// Each item of `spec.dataFrom`.
    DataFromItem,
    /// Each item of a PushSecret's `spec.dataTo`.
    DataToItem,
    /// Each item of `rewrite` in a PushSecret's `spec.dataTo` items.
    DataToRewriteItem,
}

impl Scope {
    /// The property path from the spec to the rule's node (`[]` = array items).
    pub fn path(self) -> &'static [&'static str] {
        match self {
            Scope::Spec => &[],
            Scope::Target => &["target"],
            Scope::Template => &["target", "template"],
            Scope::DataFromItem => &["dataFrom", "[]"],
            Scope::DataToItem => &["dataTo", "[]"],
            Scope::DataToRewriteItem => &["dataTo", "[]", "rewrite", "[]"],
        }
    }
}

/// One webhook rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Where the rule sits.
    pub scope: Scope,
    /// The CEL expression (`self` is the node at `scope`); must hold.
    pub rule: &'static str,
    /// ESO's webhook message.
    pub message: &'static str,
    /// A spec (YAML; an ExternalSecret's for [`RULES`], a PushSecret's for [`PUSH_RULES`])
    /// that breaks this rule and no other.
    pub bad_spec: &'static str,
    /// The field [`crate::validate::validate_external_secret`] (or
    /// [`crate::push_secret::validate_push_secret`]) names for `bad_spec`.
    pub rust_field: &'static str,
}

const STORE: &str = "secretStoreRef: {name: s}\n";

/// ESO's webhook rules (`apis/externalsecrets/v1/externalsecret_validator.go`).
pub const RULES: &[Rule] = &[
    Rule {
        scope: Scope::Target,
        rule: "!(has(self.deletionPolicy) && self.deletionPolicy == 'Delete' && has(self.creationPolicy) && self.creationPolicy in ['Merge', 'None', 'CreateOrMerge'])",
        message: "deletionPolicy=Delete must not be used when the controller doesn't own the secret. Please set creationPolicy=Owner",
        bad_spec: "target: {creationPolicy: Merge, deletionPolicy: Delete}\ndata: [{secretKey: k, remoteRef: {key: r}}]",
        rust_field: "spec.target.deletionPolicy",
    },
    Rule {
        scope: Scope::Target,
        rule: "!(has(self.deletionPolicy) && self.deletionPolicy == 'Merge' && has(self.creationPolicy) && self.creationPolicy == 'None')",
        message: "deletionPolicy=Merge must not be used with creationPolicy=None. There is no Secret to merge with",
        bad_spec: "target: {creationPolicy: None, deletionPolicy: Merge}\ndata: [{secretKey: k, remoteRef: {key: r}}]",
        rust_field: "spec.target.deletionPolicy",
    },
    // secretsync also accepts a template-only ExternalSecret (template data or templateFrom).
    Rule {
        scope: Scope::Spec,
        rule: "(has(self.data) && size(self.data) > 0) || (has(self.dataFrom) && size(self.dataFrom) > 0) || (has(self.target) && has(self.target.template) && ((has(self.target.template.data) && size(self.target.template.data) > 0) || (has(self.target.template.templateFrom) && size(self.target.template.templateFrom) > 0)))",
        message: "either data or dataFrom should be specified",
        bad_spec: "target: {name: t}",
        rust_field: "spec",
    },
    Rule {
        scope: Scope::DataFromItem,
        rule: "(has(self.extract) ? 1 : 0) + (has(self.find) ? 1 : 0) + (has(self.sourceRef) && has(self.sourceRef.generatorRef) ? 1 : 0) <= 1",
        message: "extract, find, or generatorRef cannot be set at the same time",
        bad_spec: "dataFrom: [{extract: {key: a}, find: {path: b}}]",
        rust_field: "spec.dataFrom[0]",
    },
    Rule {
        scope: Scope::DataFromItem,
        rule: "has(self.extract) || has(self.find) || has(self.sourceRef)",
        message: "either extract, find, or sourceRef must be set to dataFrom",
        bad_spec: "dataFrom: [{rewrite: [{regexp: {source: a, target: b}}]}]",
        rust_field: "spec.dataFrom[0]",
    },
    Rule {
        scope: Scope::DataFromItem,
        rule: "!has(self.sourceRef) || has(self.sourceRef.generatorRef) || has(self.sourceRef.storeRef)",
        message: "generatorRef or storeRef must be set when using sourceRef in dataFrom",
        bad_spec: "dataFrom: [{extract: {key: a}, sourceRef: {}}]",
        rust_field: "spec.dataFrom[0].sourceRef",
    },
    Rule {
        scope: Scope::Template,
        rule: "!has(self.type) || self.type != 'bootstrap.kubernetes.io/token'",
        message: "template.type=\"bootstrap.kubernetes.io/token\" is not allowed",
        bad_spec: "target: {template: {type: bootstrap.kubernetes.io/token}}\ndata: [{secretKey: k, remoteRef: {key: r}}]",
        rust_field: "spec.target.template.type",
    },
    Rule {
        scope: Scope::Template,
        rule: "!(has(self.type) && self.type == 'kubernetes.io/service-account-token' && has(self.metadata) && has(self.metadata.annotations) && 'kubernetes.io/service-account.name' in self.metadata.annotations)",
        message: "template.type=\"kubernetes.io/service-account-token\" with annotation \"kubernetes.io/service-account.name\" is not allowed",
        bad_spec: "target: {template: {type: kubernetes.io/service-account-token, metadata: {annotations: {kubernetes.io/service-account.name: default}}}}\ndata: [{secretKey: k, remoteRef: {key: r}}]",
        rust_field: "spec.target.template.type",
    },
];

/// The bad spec of `rule` with a store reference added, as YAML.
pub fn bad_spec_yaml(rule: &Rule) -> String {
    format!("{STORE}{}", rule.bad_spec)
}

const PUSH_BASE: &str = "secretStoreRefs: [{name: vault}]\nselector: {secret: {name: src}}\ndata: [{match: {remoteRef: {remoteKey: x}}}]\n";

/// ESO's CEL rules on PushSecrets (`pushsecret_types.go`; ESO has no PushSecret webhook).
pub const PUSH_RULES: &[Rule] = &[
    Rule {
        scope: Scope::DataToItem,
        rule: "has(self.storeRef) && (has(self.storeRef.name) || has(self.storeRef.labelSelector))",
        message: "storeRef must specify either name or labelSelector",
        bad_spec: "dataTo: [{remoteKey: bundle}]",
        rust_field: "spec.dataTo[0].storeRef",
    },
    Rule {
        scope: Scope::DataToItem,
        rule: "!has(self.remoteKey) || !has(self.rewrite) || size(self.rewrite) == 0",
        message: "remoteKey and rewrite are mutually exclusive: rewrite is only supported in per-key mode (without remoteKey)",
        bad_spec: "dataTo: [{storeRef: {name: vault}, remoteKey: bundle, rewrite: [{regexp: {source: a, target: b}}]}]",
        rust_field: "spec.dataTo[0].rewrite",
    },
    Rule {
        scope: Scope::DataToRewriteItem,
        rule: "(has(self.regexp) && !has(self.transform)) || (!has(self.regexp) && has(self.transform))",
        message: "exactly one of regexp or transform must be set",
        bad_spec: "dataTo: [{storeRef: {name: vault}, rewrite: [{}]}]",
        rust_field: "spec.dataTo[0].rewrite[0]",
    },
];

/// The bad spec of a [`PUSH_RULES`] rule, completed into a PushSecret spec, as YAML.
pub fn push_bad_spec_yaml(rule: &Rule) -> String {
    format!("{PUSH_BASE}{}", rule.bad_spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::external_secret::ExternalSecretSpec;
    use crate::validate::validate_external_secret;

    #[test]
    fn every_apply_time_rule_is_also_checked_in_rust() {
        for rule in RULES {
            let spec: ExternalSecretSpec = serde_yaml::from_str(&bad_spec_yaml(rule))
                .unwrap_or_else(|e| panic!("{}: bad_spec does not parse: {e}", rule.message));
            let errors: Vec<String> = validate_external_secret(&spec)
                .iter()
                .map(ToString::to_string)
                .collect();
            assert!(
                errors
                    .iter()
                    .any(|e| e.starts_with(&format!("{}:", rule.rust_field))),
                "{}: validate_external_secret reports no error at {} for\n{}\n(got {errors:?})",
                rule.message,
                rule.rust_field,
                bad_spec_yaml(rule)
            );
        }
    }

    #[test]
    fn every_push_rule_is_also_checked_in_rust() {
        use crate::push_secret::{PushSecretSpec, validate_push_secret};
        let base: PushSecretSpec = serde_yaml::from_str(PUSH_BASE).unwrap_or_default();
        assert!(validate_push_secret(&base, "spec").is_empty());
        for rule in PUSH_RULES {
            let spec: PushSecretSpec = serde_yaml::from_str(&push_bad_spec_yaml(rule))
                .unwrap_or_else(|e| panic!("{}: bad_spec does not parse: {e}", rule.message));
            let errors: Vec<String> = validate_push_secret(&spec, "spec")
                .iter()
                .map(ToString::to_string)
                .collect();
            assert!(
                errors
                    .iter()
                    .any(|e| e.starts_with(&format!("{}:", rule.rust_field))),
                "{}: validate_push_secret reports no error at {} (got {errors:?})",
                rule.message,
                rule.rust_field,
            );
        }
    }
}
