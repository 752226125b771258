//! The clinic API's common crate.
//!
//! Flows (cache-aside doctor reads, booking, ranking, reminders, migrations,
//! seed data, health) are written against the small store ports in
//! [`ports`]; [`adapters`] implements those ports over spin-sdk (for the wasm
//! components) and over ordinary Rust clients (for tests and tools). Components stay thin: they build adapters,
//! hand the request to a handler in [`routes`] and return its response.

pub mod adapters;
pub mod appointment;
pub mod auth;
pub mod booking;
pub mod data_api;
pub mod doctor;
pub mod doctor_cache;
pub mod error;
pub mod health;
pub mod migrate;
pub mod ports;
pub mod ranking;
pub mod redis_ext;
pub mod reminders;
pub mod reply;
pub mod routes;
pub mod seed;
pub mod settings;

pub use error::ApiError;
