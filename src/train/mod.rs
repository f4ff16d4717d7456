//! Training: optimisers and one trainer per method. Trainers talk to the run directory through
//! `crate::run`, and know nothing of any screen.

pub mod batch;
pub mod fast;
pub mod gan;
pub mod live;
pub mod nst;
pub mod optim;
pub mod progress;
pub mod resume;
pub mod start;
