//! Fidelity suite: runs `crates/testkit/fidelity/azure` (pytest + Microsoft's azure-identity and
//! azure-keyvault-secrets) against a freshly started double.
//!
//! Python is resolved as `$SECRETSYNC_PYTHON`, else `<peers>/venv/bin/python` where `<peers>` is
//! `$SECRETSYNC_PEERS_DIR` or `<workspace>/.peers`. A missing interpreter or package fails the
//! test with instructions; it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use secretsync_testkit::azure::{
    AzureDouble, AzureDoubleOptions, ClientCertificate, ManagedIdentity, SecretOptions, TestIssuer,
    TrustedIssuerKeys, grant,
};

const THROTTLED_SECRET: &str = "throttled-secret";
const THROTTLE_COUNT: u32 = 2;
const THROTTLE_RETRY_AFTER: u64 = 1;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn resolve_python() -> PathBuf {
    if let Some(p) = std::env::var_os("SECRETSYNC_PYTHON") {
        return PathBuf::from(p);
    }
    let peers = std::env::var_os("SECRETSYNC_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".peers"));
    let python = peers.join("venv/bin/python");
    assert!(
        python.exists(),
        "no Python for the Azure fidelity suite at {}: run scripts/peers install (or set SECRETSYNC_PYTHON \
         to a python with azure-identity, azure-keyvault-secrets and pytest)",
        python.display()
    );
    python
}

#[test]
fn python_sdks_agree_with_the_azure_double() {
    let python = resolve_python();
    let probe = Command::new(&python)
        .args([
            "-c",
            "import azure.identity, azure.keyvault.secrets, pytest",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}: run scripts/peers install",
                python.display()
            )
        });
    assert!(
        probe.status.success(),
        "{} lacks azure-identity/azure-keyvault-secrets/pytest: run scripts/peers install\n{}",
        python.display(),
        String::from_utf8_lossy(&probe.stderr)
    );

    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("start the double");
    let tenant = double.tenant_id().to_string();
    let dir = tempfile::tempdir().expect("tempdir");

    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, double.ca_pem()).expect("write CA");

    let client_id = "a1b2c3d4-0000-4000-8000-000000000001";
    let client_secret = "fidelity-client-secret";
    double.add_client_secret(&tenant, client_id, client_secret);

    let cert_client_id = "a1b2c3d4-0000-4000-8000-000000000002";
    let cert = ClientCertificate::generate("fidelity-cert-app").expect("client certificate");
    double
        .add_client_certificate(&tenant, cert_client_id, &cert.cert_pem)
        .expect("register certificate");
    let cert_file = dir.path().join("client.pem");
    std::fs::write(&cert_file, cert.combined_pem()).expect("write client cert");

    let wi_client_id = "a1b2c3d4-0000-4000-8000-000000000003";
    let issuer = TestIssuer::generate("https://oidc.fidelity.test/cluster").expect("issuer");
    let subject = "system:serviceaccount:secretsync:fidelity";
    double.add_federated_credential(
        &tenant,
        wi_client_id,
        issuer.issuer(),
        subject,
        "api://AzureADTokenExchange",
    );
    double
        .trust_issuer(issuer.issuer(), TrustedIssuerKeys::Jwks(issuer.jwks()))
        .expect("trust issuer");
    let token_file = dir.path().join("sa-token");
    std::fs::write(
        &token_file,
        issuer
            .token(subject, "api://AzureADTokenExchange", 3600)
            .expect("sign SA token"),
    )
    .expect("write SA token");

    let mi_client_id = "a1b2c3d4-0000-4000-8000-000000000004";
    double.add_managed_identity(ManagedIdentity::UserAssigned {
        client_id: mi_client_id.into(),
    });

    double
        .set_secret(
            THROTTLED_SECRET,
            "after-throttling",
            SecretOptions::default(),
        )
        .expect("set throttled secret");
    double.throttle_next_matching(
        &format!("/secrets/{THROTTLED_SECRET}"),
        THROTTLE_COUNT,
        THROTTLE_RETRY_AFTER,
    );

    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("fidelity/azure");
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"])
        .arg(&suite)
        .current_dir(&suite)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env(
            "AZDBL_VAULT_URL",
            format!("https://{}/", double.vault_dns_name()),
        )
        .env("AZDBL_VAULT_IP_URL", double.vault_url())
        .env("AZDBL_VAULT_HOST", double.vault_dns_name())
        .env("AZDBL_PORT", double.socket_addr().port().to_string())
        .env("AZDBL_AUTHORITY", double.authority_host())
        .env("AZDBL_TENANT", &tenant)
        .env("AZDBL_CA_FILE", &ca_file)
        .env("AZDBL_CLIENT_ID", client_id)
        .env("AZDBL_CLIENT_SECRET", client_secret)
        .env("AZDBL_CERT_CLIENT_ID", cert_client_id)
        .env("AZDBL_CERT_FILE", &cert_file)
        .env("AZDBL_WI_CLIENT_ID", wi_client_id)
        .env("AZDBL_WI_TOKEN_FILE", &token_file)
        .env("AZDBL_MI_CLIENT_ID", mi_client_id)
        .env("AZDBL_MI_ENDPOINT", double.managed_identity_endpoint())
        .env(
            "AZDBL_APP_SERVICE_ENDPOINT",
            double.app_service_identity_endpoint(),
        )
        .env("AZDBL_IDENTITY_HEADER", double.identity_header())
        .env("AZDBL_THROTTLED_SECRET", THROTTLED_SECRET)
        .env(
            "AZDBL_THROTTLE_RETRY_AFTER",
            THROTTLE_RETRY_AFTER.to_string(),
        )
        .env("AZDBL_THROTTLE_COUNT", THROTTLE_COUNT.to_string())
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "the Python fidelity suite failed:\n{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains(" skipped"),
        "no fidelity test may be skipped:\n{stdout}"
    );

    // The double saw what the SDKs did.
    let vault = double.vault_requests();
    assert_eq!(vault.throttled, u64::from(THROTTLE_COUNT), "{vault:?}");
    assert!(
        vault.get("SetSecret") > 0 && vault.get("GetSecrets") >= 3,
        "{vault:?}"
    );
    let tokens = double.token_requests();
    for g in [
        grant::CLIENT_SECRET,
        grant::CLIENT_CERTIFICATE,
        grant::FEDERATED,
        grant::MANAGED_IDENTITY,
    ] {
        assert!(tokens.get(g) > 0, "no {g} token request seen: {tokens:?}");
    }
}
