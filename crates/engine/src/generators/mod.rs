//! The generators the engine serves itself (`Password`, `UUID`, `Fake`: pure, no I/O) and the
//! [`GeneratorRegistry`] a host extends with generators that talk to a backend
//! (`VaultDynamicSecret`, in `secretsync-provider-vault`).

pub mod password;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use secretsync_model::ProviderError;
use secretsync_model::generator::{GenerateRequest, Generated, Generator, GeneratorSpec};
use secretsync_model::value::{SecretData, SecretValue};

/// The generator implementations by kind.
#[derive(Clone)]
pub struct GeneratorRegistry {
    by_kind: BTreeMap<&'static str, Arc<dyn Generator>>,
}

impl Default for GeneratorRegistry {
    /// The built-in generators: `Password`, `UUID`, `Fake`.
    fn default() -> Self {
        GeneratorRegistry {
            by_kind: BTreeMap::new(),
        }
        .with(Arc::new(PasswordGenerator))
        .with(Arc::new(UuidGenerator))
        .with(Arc::new(FakeGenerator))
    }
}

impl std::fmt::Debug for GeneratorRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_kind.keys()).finish()
    }
}

impl GeneratorRegistry {
    /// Adds (or replaces) the implementation of `generator.kind()`.
    pub fn with(mut self, generator: Arc<dyn Generator>) -> Self {
        self.by_kind.insert(generator.kind(), generator);
        self
    }

    /// The implementation of `kind`, if secretsync has one.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Generator>> {
        self.by_kind.get(kind)
    }

    /// The kinds served.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_kind.keys().copied()
    }
}

/// The error of a spec that does not fit the generator it was handed to.
fn wrong_spec(kind: &str, spec: &GeneratorSpec) -> ProviderError {
    ProviderError::Unsupported(format!(
        "the {kind} generator was handed a {} spec",
        spec.kind()
    ))
}

/// `Password`: see [`password`].
pub struct PasswordGenerator;

#[async_trait]
impl Generator for PasswordGenerator {
    fn kind(&self) -> &'static str {
        "Password"
    }

    async fn generate(&self, request: &GenerateRequest<'_>) -> Result<Generated, ProviderError> {
        let GeneratorSpec::Password(spec) = request.spec else {
            return Err(wrong_spec(self.kind(), request.spec));
        };
        // rand's thread generator: ChaCha12 seeded from the operating system (a CSPRNG).
        let data = password::generate(spec, &mut rand::rng())
            .map_err(ProviderError::InvalidStoreConfig)?;
        Ok(Generated { data, state: None })
    }
}

/// `UUID`: one random (version 4) UUID under the key `uuid`, as ESO.
pub struct UuidGenerator;

#[async_trait]
impl Generator for UuidGenerator {
    fn kind(&self) -> &'static str {
        "UUID"
    }

    async fn generate(&self, request: &GenerateRequest<'_>) -> Result<Generated, ProviderError> {
        let GeneratorSpec::Uuid(_) = request.spec else {
            return Err(wrong_spec(self.kind(), request.spec));
        };
        let data = SecretData::from([(
            "uuid".to_string(),
            SecretValue::from(uuid::Uuid::new_v4().to_string()),
        )]);
        Ok(Generated { data, state: None })
    }
}

/// `Fake`: its `data`, as given.
pub struct FakeGenerator;

#[async_trait]
impl Generator for FakeGenerator {
    fn kind(&self) -> &'static str {
        "Fake"
    }

    async fn generate(&self, request: &GenerateRequest<'_>) -> Result<Generated, ProviderError> {
        let GeneratorSpec::Fake(spec) = request.spec else {
            return Err(wrong_spec(self.kind(), request.spec));
        };
        let data = spec
            .data
            .iter()
            .map(|(k, v)| (k.clone(), SecretValue::from(v.as_str())))
            .collect();
        Ok(Generated { data, state: None })
    }
}
