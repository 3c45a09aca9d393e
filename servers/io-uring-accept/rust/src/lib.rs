//! A worker's accepts through an io_uring of its own (`ring`): a library beside the binary so
//! that its tests can race a ring's cancel against a connection directly.

pub mod ring;
