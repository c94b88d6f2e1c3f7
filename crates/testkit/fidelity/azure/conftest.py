"""Shared configuration for the Azure double fidelity suite.

The suite is started by crates/testkit/tests/azure_fidelity.rs, which starts the double, registers
the apps/identities below and exports everything through AZDBL_* environment variables.

The vault is addressed as ``https://{vault}.vault.azure.net/`` (the name is covered by the
double's certificate) so that the SDK's challenge-resource verification stays ON, exactly as
against the real service. Only name resolution is redirected: ``{vault}.vault.azure.net:443``
resolves to the double's loopback listener, as reqwest's ``resolve`` does in the Rust tests. The
default port matters: Python's check compares the request's ``host:port`` with the challenge
resource, so a URL with an explicit non-443 port would fail it even against a real vault.
"""

import os
import socket

import pytest


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"environment variable {name} is not set: run this suite through "
            "`cargo test -p secretsync-testkit --test azure_fidelity`"
        )
    return value


class Double:
    """Connection facts for the running double."""

    def __init__(self):
        self.vault_url = _env("AZDBL_VAULT_URL")  # https://{vault}.vault.azure.net/
        self.vault_ip_url = _env("AZDBL_VAULT_IP_URL")
        self.vault_host = _env("AZDBL_VAULT_HOST")
        self.port = int(_env("AZDBL_PORT"))
        self.authority = _env("AZDBL_AUTHORITY")
        self.tenant = _env("AZDBL_TENANT")
        self.ca_file = _env("AZDBL_CA_FILE")
        self.client_id = _env("AZDBL_CLIENT_ID")
        self.client_secret = _env("AZDBL_CLIENT_SECRET")
        self.cert_client_id = _env("AZDBL_CERT_CLIENT_ID")
        self.cert_file = _env("AZDBL_CERT_FILE")
        self.wi_client_id = _env("AZDBL_WI_CLIENT_ID")
        self.wi_token_file = _env("AZDBL_WI_TOKEN_FILE")
        self.mi_client_id = _env("AZDBL_MI_CLIENT_ID")
        self.mi_endpoint = _env("AZDBL_MI_ENDPOINT")
        self.app_service_endpoint = _env("AZDBL_APP_SERVICE_ENDPOINT")
        self.identity_header = _env("AZDBL_IDENTITY_HEADER")
        self.throttled_secret = _env("AZDBL_THROTTLED_SECRET")
        self.throttle_retry_after = int(_env("AZDBL_THROTTLE_RETRY_AFTER"))
        self.throttle_count = int(_env("AZDBL_THROTTLE_COUNT"))


@pytest.fixture(scope="session")
def double():
    return Double()


@pytest.fixture(scope="session", autouse=True)
def resolve_vault_name_to_loopback(double):
    """Resolve ``{vault}.vault.azure.net`` (any port) to the double's 127.0.0.1 listener."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host.lower() == double.vault_host.lower():
            host, port = "127.0.0.1", double.port
        return real_getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    yield
    socket.getaddrinfo = real_getaddrinfo


@pytest.fixture
def unique(request):
    """A Key Vault-safe name unique to the test."""
    return request.node.name.replace("_", "-")[:100]
