use std::collections::HashMap;

use secretsync_model::external_secret::StoreKind;

use super::*;

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn id(kind: StoreKind, name: &str) -> StoreId {
    StoreId {
        kind,
        namespace: (kind == StoreKind::SecretStore).then(|| "ns".to_string()),
        name: name.into(),
    }
}

fn spec(provider: serde_json::Value) -> SecretStoreSpec {
    serde_json::from_value(serde_json::json!({ "provider": provider })).expect("spec")
}

/// (variables, expected login kind or error part)
type Case<'a> = (&'a [(&'a str, &'a str)], Result<&'a str, &'a str>);

#[test]
fn vault_login_is_picked_in_order() {
    // (variables, expected login kind or error part)
    let cases: [Case<'_>; 7] = [
        (&[], Ok("none")),
        (&[("VAULT_TOKEN", "t")], Ok("token")),
        (&[("VAULT_TOKEN_FILE", "/x")], Ok("token")),
        (
            &[
                ("VAULT_TOKEN", "t"),
                ("VAULT_ROLE_ID", "r"),
                ("VAULT_SECRET_ID", "s"),
            ],
            Ok("token"),
        ),
        (
            &[
                ("VAULT_ROLE_ID", "r"),
                ("VAULT_SECRET_ID_FILE", "/s"),
                ("VAULT_JWT", "j"),
            ],
            Ok("approle"),
        ),
        (
            &[("VAULT_JWT_FILE", "/j"), ("VAULT_JWT_ROLE", "ci")],
            Ok("jwt"),
        ),
        (&[("VAULT_ROLE_ID", "r")], Err("VAULT_ROLE_ID is set")),
    ];
    for (vars, expected) in cases {
        let got = CiCredentials::from_lookup(lookup(vars)).map(|c| match c.vault {
            None => "none",
            Some(VaultLogin::Token(_)) => "token",
            Some(VaultLogin::AppRole { .. }) => "approle",
            Some(VaultLogin::Jwt { .. }) => "jwt",
        });
        match (got, expected) {
            (Ok(kind), Ok(want)) => assert_eq!(kind, want, "{vars:?}"),
            (Err(e), Err(part)) => assert!(e.contains(part), "{e}"),
            (got, expected) => panic!("{vars:?}: {got:?} vs {expected:?}"),
        }
    }
}

#[test]
fn mounts_roles_and_azure_settings_are_read() {
    let c = CiCredentials::from_lookup(lookup(&[
        ("VAULT_JWT", " token\n"),
        ("VAULT_JWT_PATH", "/gitlab/"),
        ("VAULT_JWT_ROLE", "deploy"),
        ("AZURE_CLIENT_SECRET", "cs"),
        ("AZURE_CLIENT_ID", "app"),
        ("AZURE_TENANT_ID", "tenant"),
    ]))
    .expect("valid");
    match &c.vault {
        Some(VaultLogin::Jwt { path, role, .. }) => {
            assert_eq!(path, "gitlab");
            assert_eq!(role.as_deref(), Some("deploy"));
        }
        other => panic!("{other:?}"),
    }
    let jwt = c.value(keys::VAULT_JWT).expect("key").expect("readable");
    assert_eq!(jwt.expose_str(), Some("token"));
    assert_eq!(
        c.value(keys::AZURE_CLIENT_ID)
            .expect("key")
            .expect("readable")
            .expose_str(),
        Some("app")
    );
    assert!(c.value(keys::VAULT_TOKEN).is_none());
    let err = CiCredentials::from_lookup(lookup(&[("AZURE_CLIENT_SECRET", "x")]))
        .expect_err("ids missing");
    assert!(err.contains("AZURE_CLIENT_ID and AZURE_TENANT_ID"), "{err}");
}

#[test]
fn unreadable_files_name_the_variable_and_the_path() {
    let c = CiCredentials::from_lookup(lookup(&[("VAULT_TOKEN_FILE", "/nonexistent/token")]))
        .expect("valid");
    let err = c
        .value(keys::VAULT_TOKEN)
        .expect("key")
        .expect_err("unreadable");
    assert!(
        err.starts_with("VAULT_TOKEN_FILE: reading /nonexistent/token:"),
        "{err}"
    );
}

#[test]
fn specs_get_environment_credentials() {
    let approle =
        CiCredentials::from_lookup(lookup(&[("VAULT_ROLE_ID", "r"), ("VAULT_SECRET_ID", "s")]))
            .expect("valid");
    let none = CiCredentials::default();
    let store = id(StoreKind::ClusterSecretStore, "vault");
    let vault_no_auth =
        spec(serde_json::json!({"vault": {"server": "http://v", "path": "secret"}}));
    let vault_k8s = spec(
        serde_json::json!({"vault": {"server": "http://v", "auth": {"kubernetes": {"role": "r"}}}}),
    );

    // No auth: the environment's AppRole, through the synthetic Secret.
    let (out, synthetic) = approle
        .apply(&store, &vault_no_auth, false)
        .expect("applied");
    assert!(synthetic);
    let app_role = out
        .provider
        .vault
        .as_ref()
        .and_then(|v| v.auth.as_ref())
        .and_then(|a| a.app_role.clone())
        .expect("appRole");
    assert_eq!(app_role.path, "approle");
    assert_eq!(app_role.secret_ref.name, CI_SECRET);
    // The store's own auth stays unless replaced.
    assert_eq!(
        approle.apply(&store, &vault_k8s, false).expect("kept"),
        (vault_k8s.clone(), false)
    );
    let (out, _) = approle.apply(&store, &vault_k8s, true).expect("replaced");
    assert!(
        out.provider
            .vault
            .and_then(|v| v.auth)
            .and_then(|a| a.kubernetes)
            .is_none()
    );
    // No auth and nothing in the environment: a message naming the store, the field and the variables.
    let err = none
        .apply(&store, &vault_no_auth, false)
        .expect_err("nothing to use");
    assert!(
        err.contains("ClusterSecretStore vault: spec.provider.vault.auth is not set"),
        "{err}"
    );
    assert!(err.contains("VAULT_ROLE_ID"), "{err}");

    // AWS: replacing clears auth (the SDK chain and web identity then apply).
    let aws = spec(
        serde_json::json!({"aws": {"service": "SecretsManager", "region": "us-east-1",
        "auth": {"jwt": {"serviceAccountRef": {"name": "sa"}}}}}),
    );
    let (out, synthetic) = none.apply(&store, &aws, true).expect("applied");
    assert!(!synthetic);
    assert!(out.provider.aws.expect("aws").auth.is_empty());

    // Azure: federated file > client secret > managed identity.
    let azure = spec(
        serde_json::json!({"azurekv": {"vaultUrl": "https://v", "authType": "WorkloadIdentity",
        "serviceAccountRef": {"name": "sa"}}}),
    );
    let federated = CiCredentials {
        azure_federated: true,
        ..Default::default()
    };
    let (out, _) = federated.apply(&store, &azure, true).expect("applied");
    let a = out.provider.azurekv.expect("azure");
    assert_eq!(
        (a.auth_type, a.service_account_ref),
        (AzureAuthType::WorkloadIdentity, None)
    );
    let secret = CiCredentials::from_lookup(lookup(&[
        ("AZURE_CLIENT_SECRET", "cs"),
        ("AZURE_CLIENT_ID", "app"),
        ("AZURE_TENANT_ID", "t"),
    ]))
    .expect("valid");
    let (out, synthetic) = secret.apply(&store, &azure, true).expect("applied");
    assert!(synthetic);
    let a = out.provider.azurekv.expect("azure");
    assert_eq!(a.auth_type, AzureAuthType::ServicePrincipal);
    assert_eq!(a.tenant_id.as_deref(), Some("t"));
    let (out, _) = none.apply(&store, &azure, true).expect("applied");
    assert_eq!(
        out.provider.azurekv.expect("azure").auth_type,
        AzureAuthType::ManagedIdentity
    );
}

#[test]
fn store_patterns() {
    let p = StorePatterns::new(&[
        "vault,ClusterSecretStore/aws".into(),
        "secretstore/local".into(),
    ]);
    let cases = [
        (id(StoreKind::ClusterSecretStore, "vault"), true),
        (id(StoreKind::SecretStore, "vault"), true),
        (id(StoreKind::ClusterSecretStore, "aws"), true),
        (id(StoreKind::SecretStore, "aws"), false),
        (id(StoreKind::SecretStore, "local"), true),
        (id(StoreKind::SecretStore, "other"), false),
    ];
    for (store, expected) in cases {
        assert_eq!(p.matches(&store), expected, "{store}");
    }
    assert!(StorePatterns::new(&["*".into()]).matches(&id(StoreKind::SecretStore, "x")));
    assert!(!StorePatterns::default().matches(&id(StoreKind::SecretStore, "x")));
}
