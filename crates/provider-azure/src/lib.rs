//! Azure Key Vault provider (`spec.provider.azurekv`), compatible with ESO's `azurekv`.
//!
//! # Objects
//!
//! The remote key selects the object, as in ESO:
//! - `secret/<name>` or a bare `<name>`: the secret value (`version` selects a version);
//! - `key/<name>`: the key's JSON Web Key as JSON (public members only, as Key Vault returns
//!   them; members ordered as ESO's Go client writes them);
//! - `cert/<name>`: the certificate's DER bytes (`cer`); the private key and chain are read as
//!   `secret/<name>`.
//!
//! With `metadataPolicy: Fetch` the value is a JSON object of the object's tags plus
//! `attribute.created`, `attribute.updated`, `attribute.expires` and `attribute.notBefore`
//! (RFC3339, UTC, when set), keys sorted. The engine applies `property`/`extract` to the raw
//! value. `find` lists all secrets (paged, `nextLink` only followed on the same vault), skips
//! disabled ones, filters by tags and name regexp client-side and reads each match (ESO's N+1,
//! here with bounded concurrency); `find.path` is ignored as in ESO. Reading a disabled
//! secret fails with `PermissionDenied` saying that it is disabled.
//!
//! # Writes (PushSecret)
//!
//! [`AzureProvider`] implements `secretsync_model::SecretWriter` for secrets (module `write`):
//! `PUT secrets/{name}` with ESO's `managed-by: external-secrets` tag plus the entry's
//! `PushSecretMetadata` (`tags`, `contentType`, `expirationDate` → `attributes.exp`), only when
//! the value, expiry or requested content type differ (ESO's rule); a secret without the tag is
//! never written or deleted; `DELETE secrets/{name}` (soft delete, as the vault is configured).
//! A `property` push sets that member of a JSON object.
//!
//! Keys and certificates (module `write_objects`, ESO's `key/<name>` and `cert/<name>`): a PEM
//! private key (PKCS#8, PKCS#1 RSA, SEC1 EC) is imported as a JWK with `PUT keys/{name}`, a
//! value without PEM data as a symmetric `oct` key (only a Managed HSM accepts those); a
//! certificate value (PKCS#12 without password, DER, or PEM with the certificate and a PKCS#8
//! key) is imported with `POST certificates/{name}/import` (`policy.secret_props.contentType`
//! `application/x-pem-file` for PEM, `application/x-pkcs12` otherwise). Both carry the tag and
//! the metadata's `tags` (`contentType`/`expirationDate` are refused for them); nothing is
//! written when the remote key has the same `kty` and public members, or the remote `cer`
//! equals the value's leaf certificate; untagged objects are never overwritten or deleted;
//! `property` is refused. Parsing is `secretsync_template::funcs::material` (the template
//! functions' PEM/PKCS#8/SEC1/PKCS#12 readers).
//!
//! # Authentication (`authType`)
//!
//! - `ServicePrincipal` (default): `tenantId` plus `authSecretRef.clientId` and either
//!   `clientSecret` or `clientCertificate` (PEM with certificate and private key: RSA, EC
//!   P-256/P-384; the client assertion is signed here with aws-lc-rs, `x5t` and `x5t#S256`).
//! - `ManagedIdentity`: the system-assigned identity, or the user-assigned one whose client id is
//!   `identityId`, from the IMDS or App Service endpoint in [`AzureOptions::managed_identity`].
//! - `WorkloadIdentity` with `serviceAccountRef`: a ServiceAccount token for audience
//!   `api://AzureADTokenExchange` (plus the selector's audiences) from
//!   [`CredentialResolver::service_account_token`](secretsync_model::credentials::CredentialResolver::service_account_token),
//!   exchanged as a federated client assertion. Client id from the
//!   `azure.workload.identity/client-id` annotation or `authSecretRef.clientId` (both is an
//!   error); tenant from `authSecretRef.tenantId`, `tenantId` or the
//!   `azure.workload.identity/tenant-id` annotation (more than one is an error), else the
//!   operator's tenant.
//! - `WorkloadIdentity` without `serviceAccountRef`: the operator's own federated token file,
//!   client and tenant id from [`AzureOptions::operator_workload_identity`].
//!
//! `ManagedIdentity` and `WorkloadIdentity` without `serviceAccountRef` are the operator's own
//! identity: only ClusterSecretStores may use them unless [`AzureOptions::ambient_identity`]
//! allows every store (ESO's behaviour). A SecretStore also has to stay within its cloud's
//! official domains (`vaultUrl` under `.vault.azure.net`/`.managedhsm.azure.net` or the
//! cloud's equivalents, the cloud's own authority and Key Vault resource; no AzureStackCloud),
//! so a tenant cannot send tokens or credentials to a host it chose. Refusals are
//! `InvalidStoreConfig` naming the field, before any request.
//!
//! # Clouds
//!
//! `environmentType` picks the Entra authority host and the Key Vault token resource:
//!
//! | environmentType | authority | Key Vault resource |
//! |---|---|---|
//! | PublicCloud | `https://login.microsoftonline.com` | `https://vault.azure.net` |
//! | USGovernmentCloud | `https://login.microsoftonline.us` | `https://vault.usgovcloudapi.net` |
//! | ChinaCloud | `https://login.chinacloudapi.cn` | `https://vault.azure.cn` |
//! | GermanCloud | `https://login.microsoftonline.de` | `https://vault.microsoftazure.de` |
//! | AzureStackCloud | `customCloudConfig` only | `customCloudConfig.keyVaultEndpoint` |
//!
//! `customCloudConfig.activeDirectoryEndpoint` overrides the authority and `keyVaultEndpoint`
//! the resource for any cloud (ESO requires `useAzureSDK: true` for this; secretsync has one
//! client and accepts it either way). The vault URL and the authority must be `https`: bearer
//! tokens and client credentials never travel in clear text.
//!
//! # Requests, caching and throttling
//!
//! The first vault request of a provider goes without a token and must get Key Vault's
//! `401` + `WWW-Authenticate: Bearer authorization=…, resource=…` challenge; the announced
//! resource must be the store's Key Vault resource (so a wrong cloud is reported clearly and a
//! token is never sent to a vault asking for another audience). Concurrent first callers share
//! that one challenge.
//!
//! One token is cached per provider instance (store + identity) in the shared credential cache
//! (`secretsync-provider-support`): renewed a quarter of its lifetime before expiry (at most five
//! minutes before), one acquisition for all concurrent callers, a failed acquisition shared
//! with the callers that waited for it. A token the vault rejects is dropped and the request
//! retried once with a new one.
//!
//! The provider never waits: `429 Too Many Requests` is `Throttled` with the vault's
//! `Retry-After` (seconds or HTTP date), and the engine retries under
//! [`AzureProvider::with_retry_settings`] ([`RETRY_DEFAULTS`]). Response bodies are read up to
//! [`ReadLimits::max_response_bytes`](secretsync_provider_support::ReadLimits) into zeroizing
//! buffers (a secret's value is taken from the body without building a JSON DOM); `find`
//! stops after `max_list_pages` pages and fails before reading when more than
//! `max_find_results` secrets match. `401`/`403` map to `PermissionDenied`, `404` to `NotFound`
//! only with Key Vault's `SecretNotFound`/`KeyNotFound`/`CertificateNotFound`, `5xx` and
//! transport failures to `Unavailable`; messages name the vault and the object and never
//! contain a value, a token or a client secret.
//!
//! `dataFrom[].extract` with `metadataPolicy: Fetch` names keys as ESO does:
//! `<secret>_<tag>` (`<secret>_<tag>_<member>` for a tag holding a JSON object of strings) and
//! `<secret>_attribute.created` etc. ([`eso_extract_metadata`]).
//!
//! # Why a thin REST client on reqwest
//!
//! The official `azure_security_keyvault_secrets` 1.0 covers secrets only (there are no stable
//! 1.x keys/certificates crates), `azure_identity` 1.0 has no in-memory certificate credential
//! without OpenSSL and no way to inject per-store ServiceAccount tokens with a shared cache and
//! configurable managed-identity endpoint, and the SDK's challenge-resource check rejects
//! non-Azure hosts. The Key Vault GET API and the OAuth client-credentials grant are small and
//! stable, so this crate calls them directly with reqwest (rustls + aws-lc-rs, the workspace's
//! only TLS stack), with the process's extra root CAs from [`AzureOptions`].

mod auth;
mod cloud;
mod http_util;
mod objects;
mod options;
mod provider;
mod vault;
mod write;
mod write_objects;

pub use auth::source::{ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, WORKLOAD_IDENTITY_AUDIENCE};
pub use cloud::CloudEndpoints;
pub use objects::{ObjectKind, ObjectRef, eso_extract_metadata, parse_remote_key};
pub use options::{AzureOptions, ManagedIdentityEndpoint, OperatorWorkloadIdentity};
pub use provider::{AzureProvider, RETRY_DEFAULTS};
pub use vault::API_VERSION;
