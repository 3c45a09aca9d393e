//! Server-side HTTP/1.1, shared by the Hello World worker and the built-in L7 proxy (never by the
//! load generator, which has its own client-side parser): request framing, the per-connection
//! read buffer, and response bytes. Pure functions where possible, so the protocol rules are
//! unit-tested without sockets.

pub mod reader;
pub mod request;
pub mod response;

pub use reader::{write_all, Reader, Timeouts};
pub use request::{frame, frame_with, Frame, Persistence, Refusal, Request, MAX_BODY, MAX_HEAD};
pub use response::{response_head, BadResponse, ResponseHead, Responses, BODY};
