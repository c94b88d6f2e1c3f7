//! Azure Key Vault provider.
