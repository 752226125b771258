//! Test support: the test stack's settings and native adapters over it.
