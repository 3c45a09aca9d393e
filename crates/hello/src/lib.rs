//! The Hello World worker every Rust strategy serves with: `200 Hello World` and
//! `X-Worker: <id>` on every request, keep-alive, pipelining, HTTP/1.0, refusals; or, when the
//! harness runs another worker program, the hand-over to it (`exec`).

pub mod args;
pub mod backends;
pub mod conn;
pub mod drain;
pub mod exclusive;
pub mod exec;
pub mod work;
pub mod worker;

pub use args::{main, StrategyArgs};
pub use http1::Timeouts;
