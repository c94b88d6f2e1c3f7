//! Embedding secretsync: read ExternalSecrets and their stores from a manifest file, fetch
//! them with the providers this build links, and print each Secret's name and keys (never a
//! value).
//!
//! ```sh
//! VAULT_TOKEN=... cargo run -p secretsync-example-embed --no-default-features --features vault -- manifests.yaml
//! ```

use std::sync::Arc;

use secretsync_engine::{Engine, EngineConfig, MemoryEnvironment, SyncResult};
use secretsync_model::manifest::{Resource, parse_documents};
use secretsync_providers::{AllProviders, AmbientIdentity, ProviderOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: embed <manifests.yaml>")?;
    let text = std::fs::read_to_string(&path)?;

    // Stores, Secrets and ConfigMaps go into the environment; ExternalSecrets come back.
    let mut env = MemoryEnvironment::new();
    let mut external_secrets = Vec::new();
    for doc in parse_documents(&path, &text) {
        if let Some(Resource::ExternalSecret(es)) = env.insert(doc?.resource) {
            external_secrets.push(*es);
        }
    }
    // The program runs as its user, so its own identity (VAULT_TOKEN, the AWS chain, Azure's
    // federated token) may serve every store, as the `secretsync` CLI allows.
    let options = ProviderOptions {
        ambient_identity: AmbientIdentity::AnyStore,
        ..ProviderOptions::from_env()?
    };
    #[cfg(feature = "vault")]
    let options = options.with_vault_environment_token(); // stores without auth use VAULT_TOKEN
    let engine = Engine::new(
        Arc::new(AllProviders::new(options)),
        EngineConfig::default(),
    );

    for es in &external_secrets {
        match engine.sync(es, &env).await.result {
            Ok(SyncResult::Write(secret)) => {
                let keys: Vec<&str> = secret.data.keys().map(String::as_str).collect();
                println!("{}/{}: {}", secret.namespace, secret.name, keys.join(","));
            }
            Ok(other) => println!("{other:?}"),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    engine.close().await;
    Ok(())
}
