//! A MongoDB Atlas Data API v1 compatible gateway. See README.md.

pub mod auth;
pub mod backend;
pub mod config;
pub mod ejson;
pub mod engine;
pub mod error;
#[cfg(feature = "mongodb")]
pub mod mongo;
pub mod request;
pub mod server;
