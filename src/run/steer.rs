//! What a live trainer offers to the people steering it, and what the session answers between
//! steps: the seam between the run protocol (`session`, `follow`) and the trainers, kept in its
//! own file so that neither side imports the other's module.

use super::dir::RunDir;
use crate::preset::Preset;
use anyhow::Result;
use std::path::PathBuf;

/// What a trainer offers to the people steering it.
pub trait Steer {
    /// Writes a sample now; returns its path.
    fn sample(&mut self, run: &RunDir, step: u64) -> Result<PathBuf>;
    /// Writes a checkpoint now; returns its path.
    fn checkpoint(&mut self, run: &RunDir, step: u64) -> Result<PathBuf>;
    /// The effective preset in force.
    fn preset(&self) -> Preset;
    /// Takes a new effective preset whose changes are all live.
    fn apply(&mut self, new: &Preset) -> Result<()>;
}

/// What the loop does after the session has handled what arrived between two steps.
pub enum Flow {
    Continue,
    Stop,
}
