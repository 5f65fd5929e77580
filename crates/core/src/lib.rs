//! Dangan's domain core: the customer archive model, validation, archive numbering, the access
//! policy decision and the demo-data generator. Pure code: no I/O, no async, no clock reads
//! (callers pass `now`), so every rule here is testable in isolation.

#[macro_use]
pub mod model;
pub mod audit;
pub mod checklist;
pub mod dedup;
pub mod backup;
pub mod demo;
pub mod history;
pub mod lifecycle;
pub mod mask;
pub mod numbering;
pub mod policy;
pub mod retention;
pub mod search;
pub mod templates;
pub mod validate;

pub use model::*;
