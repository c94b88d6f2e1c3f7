//! The sync engine: ExternalSecret + providers -> desired Secret, fetch coalescing, refresh scheduling.
