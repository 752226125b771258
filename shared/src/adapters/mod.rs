//! Implementations of the store ports: over spin-sdk for the wasm components,
//! over ordinary Rust clients for tests and tools.

#[cfg(feature = "native")]
pub mod native;
#[cfg(feature = "spin")]
pub mod spin;
