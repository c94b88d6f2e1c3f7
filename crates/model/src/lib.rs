//! ESO-compatible CRD types, the provider trait, secret value types and errors. No I/O.
