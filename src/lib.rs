//! wirefeed: a long-running service that polls news and wire feeds (RSS, Atom, JSON Feed),
//! normalizes every item into a clean story, and stores it in PostgreSQL or SQLite.
//!
//! The flow of one story (see the README's code map):
//! `schedule` → `fetch` → `pipeline` (`parse` → `normalize` → article pages → `dedup` fingerprint →
//! `tag`) → `store`, driven by `daemon`, fronted by `cli`. The core (`pipeline` and its stages,
//! `schedule`) is synchronous and deterministic; the shell (`fetch`, `store`, `daemon`, `service`,
//! `cli`) does the I/O.

pub mod budget;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod evaldata;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod normalize;
pub mod opml;
pub mod parse;
pub mod pipeline;
pub mod schedule;
pub mod service;
pub mod store;
pub mod tag;
