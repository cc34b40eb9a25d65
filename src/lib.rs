//! Rollcall: users, groups and group memberships for many accounts, behind an
//! OpenAPI contract.
//!
//! The core — [`domain`], [`engine`], [`db`], [`service`], [`tokens`], [`credentials`],
//! [`error`], [`observe`] — has no HTTP in it (a test keeps it so); the
//! surfaces in [`api`] are adapters over [`service::Service`].

pub mod allocator;
pub mod api;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod feed;
pub mod observe;
pub mod service;
pub mod startup;
pub mod tokens;
pub mod webhooks;
