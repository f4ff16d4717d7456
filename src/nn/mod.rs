//! Networks. They know nothing of training or runs: each is built from weights and run by `forward`.

pub mod hub;
pub mod init;
pub mod pool;
pub mod pth;
pub mod vgg;
pub mod weights;
