//! Every integration test in one binary, so the whole stack is linked once. Each module
//! is one concern, its tests named as sentences; `cargo test -p pushguard-tests -- delivery::`
//! runs one module.

mod account;
mod browser;
mod clients;
mod commerce;
#[allow(dead_code)] // what only the packages' tests use
#[path = "../common/mod.rs"]
mod common;
mod conventions;
mod delivery;
mod dialects;
mod dynamic;
mod endpoints;
mod fairness;
mod holding;
mod lambda_binaries;
mod lambda_events;
mod languages;
mod log_groups;
mod media;
mod ordering;
mod pacing;
mod portal;
mod public;
mod recovery;
mod scopes;
mod signatures;
mod ssrf;
mod stats;
mod strictness;
