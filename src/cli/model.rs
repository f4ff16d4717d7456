//! `aiart model …`: the commands about trained and published networks, each in a file of its own.

use aiart::workspace::Workspace;
use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Export a fast style network or a pix2pix / CycleGAN generator as a PyTorch .pth state dict
    /// (what the reference's code loads) and / or an ONNX graph (onnxruntime and other runtimes)
    Export(super::model_export::ExportArgs),
}

pub fn run(ws: &Workspace, command: ModelCommand) -> Result<i32> {
    match command {
        ModelCommand::Export(a) => super::model_export::run(ws, a),
    }
}
