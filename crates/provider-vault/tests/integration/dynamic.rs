//! The `VaultDynamicSecret` generator against OpenBao's database secrets engine on a real
//! PostgreSQL: the issued credentials log in, the lease (never the credential) is the state,
//! every generation issues a new lease (ESO's behaviour), and errors name the path.

use crate::support;

use std::sync::Arc;

use secretsync_model::ProviderError;
use secretsync_model::credentials::StaticCredentials;
use secretsync_model::generator::{
    GenerateRequest, Generator, GeneratorSpec, VaultDynamicSecretSpec,
};
use secretsync_provider_vault::VaultDynamicSecretGenerator;
use secretsync_testkit::peers::Postgres;
use serde_json::json;
use support::*;

/// OpenBao's database engine at `database/` managing `postgres`, with role `app`.
async fn database_engine(bao: &Bao, postgres: &Postgres) {
    bao.api(
        "POST",
        "sys/mounts/database",
        Some(json!({"type": "database"})),
    )
    .await;
    bao.api(
        "POST",
        "database/config/pg",
        Some(json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": format!(
                "postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable",
                postgres.port()
            ),
            "username": postgres.user(),
            "password": secrecy::ExposeSecret::expose_secret(postgres.password()),
            "allowed_roles": "app",
        })),
    )
    .await;
    bao.api(
        "POST",
        "database/roles/app",
        Some(json!({
            "db_name": "pg",
            "creation_statements": [
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
            ],
            "default_ttl": "1h",
            "max_ttl": "2h",
        })),
    )
    .await;
}

fn generator_spec(bao: &Bao, path: &str) -> (GeneratorSpec, StaticCredentials) {
    let (auth, creds) = root_token_auth(bao);
    let spec = VaultDynamicSecretSpec {
        path: path.into(),
        provider: Some(spec(bao, "unused", true, auth)),
        ..Default::default()
    };
    (GeneratorSpec::VaultDynamicSecret(Box::new(spec)), creds)
}

#[tokio::test]
async fn database_credentials_log_in_and_each_generation_is_a_new_lease() {
    let (bao, postgres) = (
        Bao::start().await,
        Postgres::start().await.expect("postgres"),
    );
    database_engine(&bao, &postgres).await;
    let (spec, creds) = generator_spec(&bao, "database/creds/app");
    let request = GenerateRequest {
        spec: &spec,
        namespace: NS,
        context: context("VaultDynamicSecret/db"),
        credentials: Arc::new(creds),
    };
    let generator = VaultDynamicSecretGenerator::default();
    let first = generator.generate(&request).await.expect("issued");
    let user = first.data["username"]
        .expose_str()
        .expect("username")
        .to_string();
    let password = first.data["password"]
        .expose_str()
        .expect("password")
        .to_string();
    assert_eq!(
        postgres
            .query_as("postgres", &user, &password, "SELECT current_user")
            .await
            .expect("the issued credentials log in"),
        user
    );
    let state = first.state.expect("a lease");
    assert!(
        state["leaseId"]
            .as_str()
            .is_some_and(|l| l.starts_with("database/creds/app/")),
        "{state}"
    );
    assert_eq!(state["leaseDuration"], 3600);
    assert_eq!(state["renewable"], true);
    assert!(
        !state.to_string().contains(&password),
        "the state holds no credential"
    );

    let second = generator.generate(&request).await.expect("issued again");
    assert_ne!(
        second.data["username"].expose(),
        first.data["username"].expose()
    );
    assert_ne!(second.state.expect("a lease")["leaseId"], state["leaseId"]);

    let (spec, creds) = generator_spec(&bao, "database/creds/nosuchrole");
    let request = GenerateRequest {
        spec: &spec,
        namespace: NS,
        context: context("VaultDynamicSecret/db"),
        credentials: Arc::new(creds),
    };
    let err = generator
        .generate(&request)
        .await
        .expect_err("unknown role");
    assert!(
        !matches!(err, ProviderError::Unavailable(_)),
        "a refused role is not an outage: {err}"
    );
    assert!(
        err.to_string().contains("database/creds/nosuchrole"),
        "{err}"
    );
}

#[tokio::test]
async fn pki_issue_posts_parameters_and_returns_the_chain_and_key() {
    let bao = Bao::start().await;
    bao.api("POST", "sys/mounts/pki", Some(json!({"type": "pki"})))
        .await;
    bao.api(
        "POST",
        "pki/root/generate/internal",
        Some(json!({"common_name": "test root", "ttl": "24h"})),
    )
    .await;
    bao.api(
        "POST",
        "pki/roles/web",
        Some(json!({"allowed_domains": "example.test", "allow_subdomains": true, "max_ttl": "1h"})),
    )
    .await;
    let (auth, creds) = root_token_auth(&bao);
    let issue = GeneratorSpec::VaultDynamicSecret(Box::new(VaultDynamicSecretSpec {
        path: "pki/issue/web".into(),
        method: "POST".into(),
        parameters: Some(json!({"common_name": "app.example.test", "ttl": "10m"})),
        provider: Some(spec(&bao, "unused", true, auth)),
        ..Default::default()
    }));
    let request = GenerateRequest {
        spec: &issue,
        namespace: NS,
        context: context("VaultDynamicSecret/pki"),
        credentials: Arc::new(creds),
    };
    let issued = VaultDynamicSecretGenerator::default()
        .generate(&request)
        .await
        .expect("issued");
    for key in ["certificate", "private_key", "issuing_ca", "serial_number"] {
        assert!(issued.data.contains_key(key), "{key} missing");
    }
    let cert = issued.data["certificate"].expose_str().expect("PEM");
    assert!(
        cert.starts_with("-----BEGIN CERTIFICATE-----"),
        "a PEM certificate"
    );
    assert!(
        issued.data["private_key"]
            .expose_str()
            .is_some_and(|k| k.contains("PRIVATE KEY")),
        "a PEM key"
    );
    let denied = GeneratorSpec::VaultDynamicSecret(Box::new(VaultDynamicSecretSpec {
        path: "pki/issue/web".into(),
        method: "POST".into(),
        parameters: Some(json!({"common_name": "evil.other.test"})),
        provider: Some(spec(&bao, "unused", true, root_token_auth(&bao).0)),
        ..Default::default()
    }));
    let request = GenerateRequest {
        spec: &denied,
        ..request
    };
    let err = VaultDynamicSecretGenerator::default()
        .generate(&request)
        .await
        .expect_err("a name the role does not allow");
    assert!(err.to_string().contains("pki/issue/web"), "{err}");
}
