//! The hostile-template corpus of issue #14 (crates/template/tests/hostile/corpus.json), for
//! the tests that run it through `secretsync render` and the operator.

/// One hostile template.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HostileTemplate {
    /// A short name (also used as the ExternalSecret name).
    pub name: String,
    /// The template source.
    pub template: String,
    /// A fragment of the error it must fail with.
    pub error: Option<String>,
    /// The exact output it must render (neither: it may fail or render).
    pub output: Option<String>,
}

#[derive(serde::Deserialize)]
struct Corpus {
    templates: Vec<HostileTemplate>,
}

/// Every template of the corpus.
pub fn hostile_templates() -> Vec<HostileTemplate> {
    let text = include_str!("../../template/tests/hostile/corpus.json");
    serde_json::from_str::<Corpus>(text)
        .map(|c| c.templates)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_corpus_loads() {
        let corpus = super::hostile_templates();
        assert!(corpus.len() > 80);
        assert!(corpus.iter().any(|t| t.name == "list-nesting"));
    }
}
