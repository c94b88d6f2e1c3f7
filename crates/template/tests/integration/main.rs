//! Integration tests of secretsync-template: Go/Sprig compatibility, crypto, dates, hostile input.
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster); each module was its own `tests/*.rs` file. Run one with
//! `cargo nextest run -p <package> --test integration <module>::`.

mod crypto;
mod dates;
mod golden;
mod hostile;
mod jwk;
mod properties;
mod reference_cases;
mod unit;
mod url;
