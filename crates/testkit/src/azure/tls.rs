//! Test PKI for the double: a generated CA, the server certificate it serves, and client certificates
//! for certificate-credential tests.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256, RsaKeySize,
};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::AzureDoubleError;

/// The CA and server certificate of one double instance.
pub(crate) struct ServerPki {
    /// PEM of the self-signed CA that clients must trust.
    pub(crate) ca_pem: String,
    /// rustls configuration serving the CA-signed leaf (ALPN h2 and http/1.1).
    pub(crate) server_config: Arc<ServerConfig>,
}

fn pki_error(what: &str, err: impl std::fmt::Display) -> AzureDoubleError {
    AzureDoubleError::Pki(format!("{what}: {err}"))
}

/// Generates a CA and a leaf for `127.0.0.1`, `localhost` and the given extra DNS names.
pub(crate) fn generate_server_pki(
    extra_dns_names: &[String],
) -> Result<ServerPki, AzureDoubleError> {
    let ca_key = KeyPair::generate().map_err(|e| pki_error("generating the CA key", e))?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| pki_error("CA parameters", e))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "secretsync Azure double test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| pki_error("self-signing the CA", e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    names.extend(extra_dns_names.iter().cloned());
    let leaf_key = KeyPair::generate().map_err(|e| pki_error("generating the server key", e))?;
    let mut leaf_params =
        CertificateParams::new(names).map_err(|e| pki_error("server certificate names", e))?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "secretsync Azure double");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .map_err(|e| pki_error("signing the server certificate", e))?;

    let chain = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| pki_error("TLS protocol versions", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| pki_error("TLS server configuration", e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServerPki {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
    })
}

/// A self-signed RSA client certificate for `ClientCertificateCredential`/`CertificateCredential`
/// tests. Register `cert_pem` with [`super::AzureDouble::add_client_certificate`] and give the
/// client both PEMs.
pub struct ClientCertificate {
    /// The certificate, PEM encoded.
    pub cert_pem: String,
    /// The PKCS#8 private key, PEM encoded (test material only).
    pub key_pem: String,
    /// The certificate, DER encoded.
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[REDACTED]")
            .finish()
    }
}

impl ClientCertificate {
    /// Generates an RSA-2048 self-signed certificate with the given common name.
    pub fn generate(common_name: &str) -> Result<Self, AzureDoubleError> {
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
            .map_err(|e| pki_error("generating the client RSA key", e))?;
        let mut params = CertificateParams::new(Vec::<String>::new())
            .map_err(|e| pki_error("client certificate parameters", e))?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params
            .self_signed(&key)
            .map_err(|e| pki_error("self-signing the client certificate", e))?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        })
    }

    /// Both PEMs concatenated (private key first), the form Python's `CertificateCredential`
    /// accepts as `certificate_path` / `certificate_data`.
    pub fn combined_pem(&self) -> String {
        format!("{}{}", self.key_pem, self.cert_pem)
    }
}

/// Parses the first certificate of a PEM string into DER.
pub(crate) fn certificate_der_from_pem(
    pem: &str,
) -> Result<CertificateDer<'static>, AzureDoubleError> {
    use rustls_pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
        AzureDoubleError::InvalidInput(format!(
            "client certificate: expected a PEM 'CERTIFICATE' block ({e})"
        ))
    })
}
