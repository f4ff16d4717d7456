//! The reference's `linear` learning-rate policy as its current master runs it
//! (pytorch-CycleGAN-and-pix2pix 2a7afba, 2025-08-06): `LambdaLR` with
//! λ(k) = 1 − max(0, k + epoch_count − n_epochs) / (n_epochs_decay + 1), stepped by
//! `model.update_learning_rate()` at the **end** of every epoch. So epoch e (from 1) trains at
//! lr₀ · (1 − max(0, e − n_epochs) / (n_epochs_decay + 1)): lr₀ for the first n_epochs epochs, then
//! a linear decay whose last epoch trains at lr₀ / (n_epochs_decay + 1), never 0. (Until 2025 the
//! reference stepped the scheduler at the start of each epoch, one epoch earlier.)
//!
//! Its other policies (`networks.get_scheduler`), stepped the same way, are PyTorch's schedulers
//! replayed here step by step with their own arithmetic, so each epoch's lr equals the
//! reference's to the last bit (tests/fixtures/schedules_reference.json, tools/fixtures_schedules.py):
//! `step` StepLR(step_size = lr_decay_iters, γ = 0.1); `plateau` ReduceLROnPlateau(min, factor 0.2,
//! threshold 0.01 relative, patience 5, eps 1e-8) fed the model's `metric`, which the reference
//! sets to 0 and never changes; `cosine` CosineAnnealingLR(T_max = n_epochs, η_min = 0), whose
//! recursive form goes back up after T_max.

use crate::preset::gan::{GanTrain, LrPolicy};

/// The lr epoch `epoch` (from 1) trains at under `t`'s policy, starting from `t.lr`: the
/// reference's scheduler after `epoch − 1` steps. A function of the epoch and the options alone,
/// so a resumed run trains at the lr an uninterrupted one would.
pub fn lr_at(t: &GanTrain, epoch: u64) -> f64 {
    let (lr0, steps) = (t.lr, epoch.saturating_sub(1));
    match t.lr_policy {
        LrPolicy::Linear => linear_lr(lr0, epoch, t.n_epochs, t.n_epochs_decay),
        LrPolicy::Step => {
            let size = t.lr_decay_iters.max(1);
            (1..=steps)
                .filter(|k| k % size == 0)
                .fold(lr0, |lr, _| lr * 0.1)
        }
        LrPolicy::Plateau => {
            // metric 0 every epoch: better than the initial best (∞) once, then never
            let (mut lr, mut bad) = (lr0, 0u64);
            for k in 1..=steps {
                bad = if k == 1 { 0 } else { bad + 1 };
                if bad > 5 {
                    let new = (lr * 0.2).max(0.0);
                    if lr - new > 1e-8 {
                        lr = new;
                    }
                    bad = 0;
                }
            }
            lr
        }
        LrPolicy::Cosine => {
            let t_max = t.n_epochs.max(1) as i64;
            let pi = std::f64::consts::PI;
            let mut lr = lr0;
            for k in 1..=steps as i64 {
                lr = if (k - 1 - t_max).rem_euclid(2 * t_max) == 0 {
                    lr + lr0 * (1.0 - (pi / t_max as f64).cos()) / 2.0
                } else {
                    (1.0 + (pi * k as f64 / t_max as f64).cos())
                        / (1.0 + (pi * (k - 1) as f64 / t_max as f64).cos())
                        * lr
                };
            }
            lr
        }
    }
}

pub fn linear_lr(lr0: f64, epoch: u64, n_epochs: u64, n_epochs_decay: u64) -> f64 {
    let over = epoch.saturating_sub(n_epochs) as f64;
    (lr0 * (1.0 - over / (n_epochs_decay + 1) as f64)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::{linear_lr, lr_at};
    use crate::preset::gan::{GanTrain, LrPolicy};

    #[test]
    fn every_policy_equals_the_references_scheduler_at_every_epoch() {
        let path = crate::test_fixture("schedules_reference.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 9);
        for c in cases {
            let policy: LrPolicy = serde_json::from_value(c["lr_policy"].clone()).unwrap();
            let t = GanTrain {
                lr: c["lr"].as_f64().unwrap(),
                n_epochs: c["n_epochs"].as_u64().unwrap(),
                n_epochs_decay: c["n_epochs_decay"].as_u64().unwrap(),
                lr_decay_iters: c["lr_decay_iters"].as_u64().unwrap(),
                lr_policy: policy,
                ..GanTrain::default()
            };
            let lrs = c["lrs"].as_array().unwrap();
            assert_eq!(lrs.len() as u64, t.n_epochs + t.n_epochs_decay);
            for (e, want) in (1..).zip(lrs) {
                let want = want.as_f64().unwrap();
                let got = lr_at(&t, e);
                assert!(
                    got == want,
                    "{policy:?} {} + {} epochs, lr {}: epoch {e} trains at {got:e}, the \
                     reference at {want:e}",
                    t.n_epochs,
                    t.n_epochs_decay,
                    t.lr
                );
            }
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-15
    }

    #[test]
    fn every_epoch_of_a_2_plus_3_run_as_the_reference() {
        // torch.optim.lr_scheduler.LambdaLR(opt, λ) with lr 2e-4, n_epochs 2, n_epochs_decay 3,
        // epoch_count 1, stepped after each epoch: the lr each of the 5 epochs trains at
        let want = [2e-4, 2e-4, 1.5e-4, 1e-4, 5e-5];
        for (e, w) in (1..=5).zip(want) {
            let got = linear_lr(2e-4, e, 2, 3);
            assert!(close(got, w), "epoch {e}: {got}, reference {w}");
        }
    }

    #[test]
    fn constant_then_linear_never_zero() {
        assert_eq!(linear_lr(2e-4, 1, 100, 100), 2e-4);
        assert_eq!(linear_lr(2e-4, 100, 100, 100), 2e-4);
        assert!(close(linear_lr(2e-4, 101, 100, 100), 2e-4 * 100.0 / 101.0));
        assert!(close(linear_lr(2e-4, 150, 100, 100), 2e-4 * 51.0 / 101.0));
        assert!(close(linear_lr(2e-4, 200, 100, 100), 2e-4 / 101.0));
        // no decay: constant to the end
        assert_eq!(linear_lr(2e-4, 7, 7, 0), 2e-4);
    }
}
