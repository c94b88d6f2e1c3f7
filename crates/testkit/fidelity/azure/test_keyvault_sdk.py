"""Fidelity of the Azure double, checked with Microsoft's Python SDKs (azure-identity,
azure-keyvault-secrets). Every test talks HTTPS to the double through configuration only:
authority host, vault URL and CA bundle."""

import time

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import (
    CertificateCredential,
    ClientAssertionCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from azure.keyvault.secrets import SecretClient

VAULT_SCOPE = "https://vault.azure.net/.default"


def secret_credential(double, secret=None):
    # MSAL validates unknown authority hosts against login.microsoftonline.com (instance
    # discovery), which no test can reach: disable_instance_discovery is required for any
    # non-Microsoft authority, real or fake. Tenant discovery (openid-configuration) still runs.
    return ClientSecretCredential(
        double.tenant,
        double.client_id,
        secret or double.client_secret,
        authority=double.authority,
        connection_verify=double.ca_file,
        disable_instance_discovery=True,
    )


def vault_client(double, credential, url=None):
    return SecretClient(vault_url=url or double.vault_url, credential=credential, connection_verify=double.ca_file)


def test_client_secret_set_get_latest_and_by_version(double, unique):
    client = vault_client(double, secret_credential(double))
    first = client.set_secret(unique, "value-1", content_type="text/plain", tags={"env": "test"})
    second = client.set_secret(unique, "value-2")
    assert first.properties.version != second.properties.version
    assert len(second.properties.version) == 32
    latest = client.get_secret(unique)
    assert latest.value == "value-2"
    assert latest.properties.version == second.properties.version
    assert latest.id == f"{double.vault_url.rstrip('/')}/secrets/{unique}/{second.properties.version}"
    old = client.get_secret(unique, first.properties.version)
    assert old.value == "value-1"
    assert old.properties.content_type == "text/plain"
    assert old.properties.tags == {"env": "test"}
    assert old.properties.enabled is True
    assert old.properties.created_on is not None
    assert old.properties.recovery_level == "Recoverable+Purgeable"


def test_list_properties_pages_and_hides_values(double, unique):
    client = vault_client(double, secret_credential(double))
    names = {f"{unique}-{i}" for i in range(7)}
    for name in names:
        client.set_secret(name, "x")
    pages = list(client.list_properties_of_secrets(max_page_size=3).by_page())
    seen = []
    for page in pages:
        items = list(page)
        assert 0 < len(items) <= 3
        seen.extend(items)
    assert len(pages) >= 3
    listed = {p.name for p in seen}
    assert names <= listed
    assert all(p.version is None for p in seen), "list items are version-less ids"
    assert not any(hasattr(p, "value") for p in seen)


def test_list_versions(double, unique):
    client = vault_client(double, secret_credential(double))
    versions = [client.set_secret(unique, f"v{i}").properties.version for i in range(4)]
    listed = [p.version for p in client.list_properties_of_secret_versions(unique, max_page_size=2)]
    assert sorted(listed) == sorted(versions)


def test_disabled_secret_error_shape(double, unique):
    client = vault_client(double, secret_credential(double))
    client.set_secret(unique, "hidden")
    props = client.update_secret_properties(unique, enabled=False)
    assert props.enabled is False
    with pytest.raises(HttpResponseError) as info:
        client.get_secret(unique)
    err = info.value
    assert err.status_code == 403
    assert err.error.code == "Forbidden"
    assert err.error.message == "Operation get is not allowed on a disabled secret."
    assert "SecretDisabled" in str(err.error.innererror)


def test_missing_secret_is_resource_not_found(double):
    client = vault_client(double, secret_credential(double))
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_secret("does-not-exist")
    assert info.value.error.code == "SecretNotFound"


def test_tags_update(double, unique):
    client = vault_client(double, secret_credential(double))
    client.set_secret(unique, "v", tags={"a": "1"})
    client.update_secret_properties(unique, tags={"b": "2"}, content_type="application/json")
    props = client.get_secret(unique).properties
    assert props.tags == {"b": "2"}
    assert props.content_type == "application/json"


def test_throttling_is_retried_after_retry_after(double):
    client = vault_client(double, secret_credential(double))
    start = time.monotonic()
    secret = client.get_secret(double.throttled_secret)
    elapsed = time.monotonic() - start
    assert secret.value == "after-throttling"
    # azure-core's RetryPolicy sleeps Retry-After seconds for each 429
    assert elapsed >= double.throttle_count * double.throttle_retry_after * 0.9, elapsed


def test_delete_secret_soft_deletes(double, unique):
    client = vault_client(double, secret_credential(double))
    client.set_secret(unique, "doomed")
    deleted = client.begin_delete_secret(unique).result()
    assert deleted.name == unique
    assert deleted.recovery_id == f"{double.vault_url.rstrip('/')}/deletedsecrets/{unique}"
    assert deleted.deleted_date is not None and deleted.scheduled_purge_date is not None
    assert client.get_deleted_secret(unique).name == unique
    with pytest.raises(ResourceNotFoundError):
        client.get_secret(unique)
    client.purge_deleted_secret(unique)
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret(unique)


def test_wrong_client_secret_is_rejected_with_aadsts(double):
    credential = secret_credential(double, secret="not-the-secret")
    with pytest.raises(ClientAuthenticationError) as info:
        credential.get_token(VAULT_SCOPE)
    assert "AADSTS7000215" in str(info.value)


def test_challenge_resource_verification_rejects_ip_vault_url(double):
    client = vault_client(double, secret_credential(double), url=double.vault_ip_url)
    with pytest.raises(ValueError) as info:
        client.get_secret("anything")
    assert "verify_challenge_resource" in str(info.value)


def test_certificate_credential(double, unique):
    credential = CertificateCredential(
        double.tenant,
        double.cert_client_id,
        certificate_path=double.cert_file,
        authority=double.authority,
        connection_verify=double.ca_file,
        disable_instance_discovery=True,
    )
    token = credential.get_token(VAULT_SCOPE)
    assert token.token and token.expires_on > time.time()
    client = vault_client(double, credential)
    client.set_secret(unique, "via-cert")
    assert client.get_secret(unique).value == "via-cert"


def test_workload_identity_credential(double, unique):
    credential = WorkloadIdentityCredential(
        tenant_id=double.tenant,
        client_id=double.wi_client_id,
        token_file_path=double.wi_token_file,
        authority=double.authority,
        connection_verify=double.ca_file,
    )
    client = vault_client(double, credential)
    client.set_secret(unique, "via-workload-identity")
    assert client.get_secret(unique).value == "via-workload-identity"


def test_client_assertion_credential(double):
    with open(double.wi_token_file) as f:
        assertion = f.read()
    credential = ClientAssertionCredential(
        double.tenant,
        double.wi_client_id,
        lambda: assertion,
        authority=double.authority,
        connection_verify=double.ca_file,
    )
    assert credential.get_token(VAULT_SCOPE).token


def test_managed_identity_imds(double, monkeypatch):
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", double.mi_endpoint)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", double.ca_file)
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    credential = ManagedIdentityCredential(client_id=double.mi_client_id, connection_verify=double.ca_file)
    token = credential.get_token(VAULT_SCOPE)
    assert token.token and token.expires_on > time.time()
    client = vault_client(double, credential)
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("absent-for-mi")


def test_managed_identity_app_service(double, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", double.app_service_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", double.identity_header)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", double.ca_file)
    monkeypatch.delenv("IDENTITY_SERVER_THUMBPRINT", raising=False)
    credential = ManagedIdentityCredential(client_id=double.mi_client_id, connection_verify=double.ca_file)
    token = credential.get_token(VAULT_SCOPE)
    assert token.token and token.expires_on > time.time()
