//! ESO's fake provider: static data from the store spec.
