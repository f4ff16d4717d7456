//! Images and datasets.

pub mod grid;
pub mod image_io;
