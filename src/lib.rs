//! tricolor (being written).
pub use gc_core::*;
pub use gc_macros::Trace;
