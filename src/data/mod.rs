//! Images and datasets.

pub mod dataset;
pub mod edges;
pub mod fetch;
pub mod grid;
pub mod image_io;
pub mod inspect;
pub mod lab;
pub mod models;
pub mod naming;
mod netpbm;
pub mod outputs;
pub mod photos;
pub mod prepare;
pub mod sizes;
pub mod temporal;
pub mod transform;
pub mod truncation;
pub mod video;

#[cfg(test)]
mod damaged_tests;
