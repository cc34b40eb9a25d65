//! The HTTP test suite: every test talks HTTP to a real server on its own
//! database, once on SQLite and once on PostgreSQL.

mod helpers;

mod access;
mod bulk_add;
mod cli;
mod concurrency;
mod faults;
mod errors;
mod openapi;
mod seed_examples;
mod single_add;
mod management_surface;
mod names;
mod permissions;
mod privilege_model;
mod users_and_groups;
mod v1_crud;
