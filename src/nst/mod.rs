//! Neural Style Transfer (Gatys, Ecker & Bethge 2015) with the seed's cost definitions.

pub mod colors;
pub mod costs;
pub mod objective;
pub mod setup;
pub mod tiles;
