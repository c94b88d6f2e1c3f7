//! Managed identity tokens from the IMDS or App Service style endpoint.

use secrecy::ExposeSecret;
use secretsync_model::ProviderError;

use super::IssuedToken;
use super::entra::token_from_reply;
use crate::http_util::send;
use crate::options::{AzureOptions, ManagedIdentityEndpoint};

/// Requests a token for `resource` for the system-assigned identity (`client_id: None`) or a
/// user-assigned one.
pub(crate) async fn acquire(
    http: &reqwest::Client,
    options: &AzureOptions,
    endpoint: &ManagedIdentityEndpoint,
    resource: &str,
    client_id: Option<&str>,
) -> Result<IssuedToken, ProviderError> {
    let identity = client_id.map_or_else(
        || "the system-assigned managed identity".to_string(),
        |id| format!("the user-assigned managed identity {id:?}"),
    );
    let (request, url) = match endpoint {
        ManagedIdentityEndpoint::Imds { base_url } => {
            let url = format!(
                "{}/metadata/identity/oauth2/token",
                base_url.trim_end_matches('/')
            );
            let mut query = vec![("api-version", "2018-02-01"), ("resource", resource)];
            if let Some(id) = client_id {
                query.push(("client_id", id));
            }
            (http.get(&url).header("Metadata", "true").query(&query), url)
        }
        ManagedIdentityEndpoint::AppService { endpoint, header } => {
            let mut query = vec![("api-version", "2019-08-01"), ("resource", resource)];
            if let Some(id) = client_id {
                query.push(("client_id", id));
            }
            (
                http.get(endpoint)
                    .header("X-IDENTITY-HEADER", header.expose_secret())
                    .query(&query),
                endpoint.clone(),
            )
        }
    };
    let what = format!("managed identity token request for {identity} at {url}");
    let reply = send(request, &what, options).await?;
    token_from_reply(&reply, options, &what)
}
