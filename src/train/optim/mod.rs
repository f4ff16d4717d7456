//! Optimisers with PyTorch's exact update rules (candle's AdamW differs in its defaults, and
//! candle has no L-BFGS).

pub mod adam;
pub mod lbfgs;

pub use adam::{Adam, AdamConfig};
pub use lbfgs::{Lbfgs, LbfgsStep};
