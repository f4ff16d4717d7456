//! The run-directory protocol (docs/ARCHITECTURE.md): a trainer owns `runs/<id>/` and writes its
//! state there; everything else reads it. This module knows no screen and no network.

pub mod archive;
pub mod clock;
pub mod control;
pub mod dir;
pub mod discard;
pub mod ending;
pub mod follow;
pub mod list;
pub mod lock;
mod meter;
pub mod metrics;
pub mod readable;
pub mod session;
pub mod signals;
pub mod status;
pub mod steer;
pub mod watch;
pub mod writing;

pub use dir::{RunDir, RunInfo};
pub use discard::Discarded;
pub use status::{RunState, Status};
pub use writing::{WriteFailed, Writing};
