//! Rollcall: users, groups and group memberships for many accounts, behind an
//! OpenAPI contract.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod startup;
