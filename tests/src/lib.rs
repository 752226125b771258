//! Test support for the integration and end-to-end tests.
//!
//! - [`stack`]: the test stack's settings (`tests/stack.env`, brought up by
//!   `scripts/test`) and native adapters over its real Redis, MariaDB and
//!   Data API gateway;
//! - [`fixtures`]: data of a test's own (databases, a small clinic, slots);
//! - [`peers`]: real servers and instruments a test runs itself (a webhook
//!   receiver, a Redis it may stop, a counter of document reads);
//! - [`e2e`]: the wasm components under `spin up`.
//!
//! Each test isolates its data: a fresh MySQL database, a fresh document
//! database, fresh ObjectIds for Redis keys. Nothing is flushed, so tests run
//! in parallel against one stack.

pub mod e2e;
pub mod fixtures;
pub mod peers;
pub mod stack;

pub use fixtures::*;
pub use peers::*;
pub use stack::*;
