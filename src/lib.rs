//! wirefeed: a long-running service that polls news and wire feeds (RSS, Atom, JSON Feed),
//! normalizes every item into a clean story, and stores it in PostgreSQL or SQLite.
//!
//! The flow of one story (see the README's code map):
//! `schedule` → `fetch` → `parse` → `normalize` → `store`, driven by `daemon`, fronted by `cli`.
//! The core (`parse`, `normalize`, `schedule`) is synchronous and deterministic; the shell (`fetch`,
//! `store`, `daemon`, `cli`) does the I/O.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod normalize;
pub mod opml;
pub mod parse;
pub mod schedule;
pub mod service;
pub mod store;
pub mod tag;
