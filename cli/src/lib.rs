//! The `pushguard` command: the whole stack in one process for local use, resource
//! provisioning from template.yaml, and operator tasks on accounts.

pub mod accounts;
pub mod clients;
mod docs;
pub mod lambda;
pub mod openapi;
pub mod provision;
pub mod stack;
pub mod strict;
pub mod template;

/// Errors of the command line and start-up: reported, never handled.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
