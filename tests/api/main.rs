//! The HTTP test suite: every test talks HTTP to a real server on its own
//! database, once on SQLite and once on PostgreSQL.

mod helpers;

mod access;
mod bad_input;
mod bulk_add;
mod cli;
mod concurrency;
mod errors;
mod events;
mod faults;
mod feed_consumer;
mod hierarchy_copies;
mod management_surface;
mod member_counts;
mod member_pages;
mod names;
mod openapi;
mod permissions;
mod privilege_model;
mod scim;
mod seed_examples;
mod sign_in;
mod single_add;
mod users_and_groups;
mod v1_crud;
mod vendor_client;
mod webhooks;
