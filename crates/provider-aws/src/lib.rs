//! AWS Secrets Manager and Parameter Store provider.
