//! Images and datasets.

pub mod dataset;
pub mod grid;
pub mod image_io;
pub mod transform;
