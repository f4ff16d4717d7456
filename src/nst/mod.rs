//! Neural Style Transfer (Gatys, Ecker & Bethge 2015) with the seed's cost definitions, and the
//! perceptual losses of fast style transfer (Johnson et al. 2016) built on the same VGG.

pub mod colors;
pub mod costs;
pub mod fast_loss;
pub mod objective;
pub mod perceptual;
pub mod setup;
pub mod tiles;
