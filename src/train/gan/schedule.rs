//! The reference's `linear` learning-rate policy, stepped at the start of every epoch as its
//! train.py does: in epoch e (from 1), lr = lr₀ · (1 − max(0, e + 1 − n_epochs) / (n_epochs_decay + 1)),
//! constant at first and reaching 0 in the last epoch.

pub fn linear_lr(lr0: f64, epoch: u64, n_epochs: u64, n_epochs_decay: u64) -> f64 {
    let over = (epoch + 1).saturating_sub(n_epochs) as f64;
    (lr0 * (1.0 - over / (n_epochs_decay + 1) as f64)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::linear_lr;

    #[test]
    fn constant_then_linear_to_zero() {
        // torch.optim.lr_scheduler.LambdaLR stepped once before each epoch
        assert_eq!(linear_lr(2e-4, 1, 100, 100), 2e-4);
        assert_eq!(linear_lr(2e-4, 99, 100, 100), 2e-4);
        assert!((linear_lr(2e-4, 100, 100, 100) - 2e-4 * 100.0 / 101.0).abs() < 1e-15);
        assert!((linear_lr(2e-4, 150, 100, 100) - 2e-4 * 50.0 / 101.0).abs() < 1e-15);
        assert_eq!(linear_lr(2e-4, 200, 100, 100), 0.0);
    }
}
