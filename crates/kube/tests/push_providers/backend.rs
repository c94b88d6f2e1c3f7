//! The providers under test and their out-of-band view of the remote (moto through the AWS
//! SDK as an administrator, the Azure double through its REST API with a token of its own).

use std::collections::BTreeMap;

use secretsync_testkit::azure::{AzureDouble, SecretOptions};
use secretsync_testkit::peers::Moto;
use serde_json::{Value, json};

use crate::support::Cluster;

pub const REGION: &str = "us-east-1";
pub const CLIENT_ID: &str = "7d3c0b7e-5c1a-4f8e-9a43-1b2c3d4e5f60";
pub const CLIENT_SECRET: &str = "azure-client-secret-value";
pub const MARKER: (&str, &str) = ("managed-by", "external-secrets");

/// The peers and the operator's cluster.
pub struct World {
    pub cluster: Cluster,
    pub moto: Moto,
    pub azure: AzureDouble,
    pub sm: aws_sdk_secretsmanager::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub http: reqwest::Client,
}

/// A provider under test, with its out-of-band view of the remote.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    SecretsManager,
    ParameterStore,
    Azure,
}

/// A remote secret as seen out of band.
#[derive(Debug, Default)]
pub struct Remote {
    pub value: String,
    pub tags: BTreeMap<String, String>,
    /// SM: `string`/`binary`; PS: the parameter type; Azure: the content type.
    pub format: String,
}

pub fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Backend {
    /// Store name, PushSecret prefix and remote key prefix.
    pub fn name(self) -> &'static str {
        match self {
            Backend::SecretsManager => "sm",
            Backend::ParameterStore => "ps",
            Backend::Azure => "az",
        }
    }

    pub fn store(self, w: &World) -> Value {
        let aws_auth = json!({"secretRef": {
            "accessKeyIDSecretRef": {"name": "aws-keys", "key": "id"},
            "secretAccessKeySecretRef": {"name": "aws-keys", "key": "secret"}}});
        let provider = match self {
            Backend::SecretsManager => json!({"aws": {
                "service": "SecretsManager", "region": REGION, "auth": aws_auth,
                "secretsManager": {"forceDeleteWithoutRecovery": true}}}),
            Backend::ParameterStore => json!({"aws": {
                "service": "ParameterStore", "region": REGION, "auth": aws_auth}}),
            Backend::Azure => json!({"azurekv": {
                "authType": "ServicePrincipal",
                "vaultUrl": w.azure.vault_url(),
                "tenantId": w.azure.tenant_id(),
                "customCloudConfig": {"activeDirectoryEndpoint": w.azure.authority_host()},
                "authSecretRef": {
                    "clientId": {"name": "azure-sp", "key": "client-id"},
                    "clientSecret": {"name": "azure-sp", "key": "client-secret"}}}}),
        };
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
               "metadata": {"name": self.name(), "namespace": w.cluster.namespace},
               "spec": {"provider": provider}})
    }

    /// ESO's `PushSecretMetadata` for this provider: a tag and a format.
    pub fn metadata(self) -> Value {
        let spec = match self {
            Backend::SecretsManager => {
                json!({"secretPushFormat": "string", "tags": {"team": "sm"}})
            }
            Backend::ParameterStore => {
                json!({"secretType": "SecureString", "tags": {"team": "ps"}})
            }
            Backend::Azure => json!({"contentType": "text/plain", "tags": {"team": "az"}}),
        };
        json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1",
               "kind": "PushSecretMetadata", "spec": spec})
    }

    /// What [`Backend::metadata`] must produce on the remote: its tags plus ESO's marker, and
    /// the format.
    pub fn expected_metadata(self) -> (BTreeMap<String, String>, &'static str) {
        match self {
            Backend::SecretsManager => (tags(&[MARKER, ("team", "sm")]), "string"),
            Backend::ParameterStore => (tags(&[MARKER, ("team", "ps")]), "SecureString"),
            Backend::Azure => (tags(&[MARKER, ("team", "az")]), "text/plain"),
        }
    }

    pub fn key(self, name: &str) -> String {
        format!("{}-{name}", self.name())
    }

    /// The remote secret, `None` when it does not exist (deleted included).
    pub async fn read(self, w: &World, key: &str) -> Option<Remote> {
        match self {
            Backend::SecretsManager => {
                let described = w.sm.describe_secret().secret_id(key).send().await.ok()?;
                if described.deleted_date().is_some() {
                    return None;
                }
                let v = w.sm.get_secret_value().secret_id(key).send().await.ok()?;
                let (value, format) = match (v.secret_string(), v.secret_binary()) {
                    (Some(s), _) => (s.to_string(), "string"),
                    (None, Some(b)) => (String::from_utf8_lossy(b.as_ref()).into_owned(), "binary"),
                    (None, None) => return None,
                };
                let tags = described
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                Some(Remote {
                    value,
                    tags,
                    format: format.into(),
                })
            }
            Backend::ParameterStore => {
                let out = w
                    .ssm
                    .get_parameter()
                    .name(key)
                    .with_decryption(true)
                    .send()
                    .await
                    .ok()?;
                let p = out.parameter()?;
                let listed = w
                    .ssm
                    .list_tags_for_resource()
                    .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                    .resource_id(key)
                    .send()
                    .await
                    // deleted since the read
                    .ok()?;
                Some(Remote {
                    value: p.value().unwrap_or_default().to_string(),
                    tags: listed
                        .tag_list()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect(),
                    format: p
                        .r#type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                })
            }
            Backend::Azure => {
                let token = azure_token(w).await;
                let response = w
                    .http
                    .get(format!(
                        "{}secrets/{key}?api-version=7.4",
                        w.azure.vault_url()
                    ))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                if response.status() == reqwest::StatusCode::NOT_FOUND {
                    return None;
                }
                let body: Value = response.error_for_status().unwrap().json().await.unwrap();
                Some(Remote {
                    value: body["value"].as_str().unwrap_or_default().to_string(),
                    tags: serde_json::from_value(body["tags"].clone()).unwrap_or_default(),
                    format: body["contentType"].as_str().unwrap_or_default().to_string(),
                })
            }
        }
    }

    pub async fn value(self, w: &World, key: &str) -> Option<String> {
        self.read(w, key).await.map(|r| r.value)
    }

    /// Creates a remote out of band; `marked`: with ESO's marker, as ESO would have pushed it.
    pub async fn create(self, w: &World, key: &str, value: &str, marked: bool) {
        let wanted = if marked { tags(&[MARKER]) } else { tags(&[]) };
        match self {
            Backend::SecretsManager => {
                let mut create = w.sm.create_secret().name(key).secret_string(value);
                for (k, v) in &wanted {
                    create = create.tags(
                        aws_sdk_secretsmanager::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build(),
                    );
                }
                create.send().await.unwrap();
            }
            Backend::ParameterStore => {
                let mut put = w
                    .ssm
                    .put_parameter()
                    .name(key)
                    .value(value)
                    .r#type(aws_sdk_ssm::types::ParameterType::String);
                for (k, v) in &wanted {
                    put = put.tags(
                        aws_sdk_ssm::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .unwrap(),
                    );
                }
                put.send().await.unwrap();
            }
            Backend::Azure => {
                w.azure
                    .set_secret(
                        key,
                        value,
                        SecretOptions {
                            tags: wanted,
                            ..SecretOptions::default()
                        },
                    )
                    .unwrap();
            }
        }
    }

    /// Changes a remote's value out of band, keeping its tags and format (someone editing it
    /// in the console).
    pub async fn edit(self, w: &World, key: &str, value: &str) {
        match self {
            Backend::SecretsManager => {
                w.sm.put_secret_value()
                    .secret_id(key)
                    .secret_string(value)
                    .send()
                    .await
                    .unwrap();
            }
            Backend::ParameterStore => {
                w.ssm
                    .put_parameter()
                    .name(key)
                    .value(value)
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .overwrite(true)
                    .send()
                    .await
                    .unwrap();
            }
            Backend::Azure => {
                let now = self.read(w, key).await.unwrap();
                w.azure
                    .set_secret(
                        key,
                        value,
                        SecretOptions {
                            tags: now.tags,
                            content_type: Some(now.format),
                            ..SecretOptions::default()
                        },
                    )
                    .unwrap();
            }
        }
    }
}

/// A Key Vault token for the test's reads, from the double's Entra endpoint.
async fn azure_token(w: &World) -> String {
    let body: Value = w
        .http
        .post(w.azure.token_endpoint(w.azure.tenant_id()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("scope", "https://vault.azure.net/.default"),
        ])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_string()
}
