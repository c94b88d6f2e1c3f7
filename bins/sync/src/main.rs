//! secretsync CLI

fn main() {}
