//! The data pipeline on a thread of its own: it walks the epochs (shuffled orders, transforms,
//! batches) and hands batches over a small channel, so the next batch is ready while a step runs.
//! Batches are built in host memory: the trainer's thread uploads them (`GanTrainer::step`), so
//! on CUDA every copy is issued on the trainer's stream, ordered with the step (a copy made on this
//! thread would go to its own per-thread stream, with nothing ordering it against the step).

use crate::data::dataset::{epoch_order, Batch, PairDataset};
use crate::rng::SeededRng;
use candle_core::Device;
use std::sync::mpsc::{sync_channel, Receiver};

pub struct Loaded {
    pub epoch: u64,
    pub batch: Batch,
    /// Files skipped while making this batch.
    pub warnings: Vec<String>,
}

/// Why the stream ended, with the files skipped on the way (they are reported before the error).
pub struct Failed {
    pub error: String,
    pub warnings: Vec<String>,
}

/// Batches (on the CPU) from epoch `start_epoch` on (skipping its first `skip` items, for a
/// resumed run), until the receiver is dropped. An error (no readable image left) ends the stream.
pub fn spawn(
    mut ds: PairDataset,
    batch_size: usize,
    serial: bool,
    seed: u64,
    start_epoch: u64,
    skip: usize,
) -> Receiver<Result<Loaded, Failed>> {
    let (tx, rx) = sync_channel(2);
    std::thread::spawn(move || {
        let mut rng = SeededRng::new(seed);
        let mut skip = skip;
        for epoch in start_epoch.. {
            let order = epoch_order(ds.len(), serial, &mut rng);
            let order = &order[skip.min(order.len())..];
            skip = 0;
            for chunk in order.chunks(batch_size) {
                let item = ds.batch(chunk, &mut rng, &Device::Cpu);
                let warnings = std::mem::take(&mut ds.warnings);
                let item = match item {
                    Ok(batch) => Ok(Loaded {
                        epoch,
                        batch,
                        warnings,
                    }),
                    Err(e) => Err(Failed {
                        error: e.to_string(),
                        warnings,
                    }),
                };
                let failed = item.is_err();
                if tx.send(item).is_err() || failed {
                    return;
                }
            }
        }
    });
    rx
}
