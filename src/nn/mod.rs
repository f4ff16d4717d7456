//! Networks. They know nothing of training or runs: each is built from weights and run by `forward`.

pub mod gan;
pub mod hub;
pub mod init;
pub mod kernels;
pub mod layers;
pub mod onnx;
pub mod params;
pub mod patchgan;
pub mod pool;
pub mod pth;
pub mod pth_save;
pub mod resnet;
pub mod tiled;
pub mod transformer_net;
pub mod unet;
pub mod vgg;
pub mod weights;
