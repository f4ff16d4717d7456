//! Our own CPU kernels (issue 9), as candle custom ops, used only on the CPU device: on CUDA the
//! callers keep candle's own ops, so the GPU path never depends on a kernel without a GPU side.
//! Each kernel gives the same numbers as the candle ops it replaces (tested side by side).

pub mod adam;
pub mod conv;
pub mod norm;
pub mod winograd;
