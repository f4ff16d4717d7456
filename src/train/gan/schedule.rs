//! The reference's `linear` learning-rate policy as its current master runs it
//! (pytorch-CycleGAN-and-pix2pix 2a7afba, 2025-08-06): `LambdaLR` with
//! λ(k) = 1 − max(0, k + epoch_count − n_epochs) / (n_epochs_decay + 1), stepped by
//! `model.update_learning_rate()` at the **end** of every epoch. So epoch e (from 1) trains at
//! lr₀ · (1 − max(0, e − n_epochs) / (n_epochs_decay + 1)): lr₀ for the first n_epochs epochs, then
//! a linear decay whose last epoch trains at lr₀ / (n_epochs_decay + 1), never 0. (Until 2025 the
//! reference stepped the scheduler at the start of each epoch, one epoch earlier.)

pub fn linear_lr(lr0: f64, epoch: u64, n_epochs: u64, n_epochs_decay: u64) -> f64 {
    let over = epoch.saturating_sub(n_epochs) as f64;
    (lr0 * (1.0 - over / (n_epochs_decay + 1) as f64)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::linear_lr;

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
