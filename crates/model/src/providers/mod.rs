//! Provider blocks of `spec.provider`, as ESO defines them.

mod aws;
mod azure;
mod fake;
mod openbao;
mod vault;

pub use aws::*;
pub use azure::*;
pub use fake::*;
pub use openbao::*;
pub use vault::*;
