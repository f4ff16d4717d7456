//! Numbers for people: losses in the runs list, checkpoint list and chart labels; and an error's
//! text with each cause said once.

/// An error and its causes, `: `-joined, as `{:#}` writes them, but a cause whose text the one
/// before already ends with is left out: an error that both prints its source and returns it as
/// its `source()` (safetensors' "I/O error: {0}") would otherwise say the OS's words twice
/// ("File too large (os error 27): File too large (os error 27)").
pub fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut last = text.clone();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !last.ends_with(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        last = t;
        cause = c.source();
    }
    text
}

/// A loss in a short readable form: `2.69e8`, `21095`, `1.657`, `0.0123`, `4.2e-5`, `0`.
/// Four significant digits below 1,000; whole numbers from 1,000 up to 100,000; three significant
/// digits in scientific notation beyond either end.
pub fn loss(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if (1e3..1e5).contains(&a) {
        format!("{v:.0}")
    } else if (1e-3..1e3).contains(&a) {
        let decimals = 3 - a.log10().floor() as i32;
        let s = format!("{v:.*}", decimals.clamp(0, 6) as usize);
        trim(&s).into()
    } else {
        // 2.69e8: the mantissa to three significant digits, trailing zeros dropped
        let s = format!("{v:.2e}");
        let (m, e) = s
            .split_once('e')
            .expect("scientific notation has an exponent");
        format!("{}e{e}", trim(m))
    }
}

/// The order in which the reference tools print their losses: pix2pix's and CycleGAN's
/// `loss_names` (pytorch-CycleGAN-and-pix2pix), then style transfer's content, style, tv and
/// total (neural-style's print-out, our total last).
const LOSS_ORDER: [&str; 16] = [
    "G_GAN", "G_L1", "D_real", "D_fake", "D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B",
    "idt_B", "content", "style", "tv", "total",
];

/// Loss names in the reference's order; names it does not know follow, alphabetically.
pub fn loss_order<S: AsRef<str>>(names: &mut [S]) {
    let rank = |n: &str| {
        LOSS_ORDER
            .iter()
            .position(|k| *k == n)
            .unwrap_or(LOSS_ORDER.len())
    };
    names.sort_by(|a, b| {
        let (a, b) = (a.as_ref(), b.as_ref());
        rank(a).cmp(&rank(b)).then(a.cmp(b))
    });
}

/// `1.500` → `1.5`, `2.000` → `2`; whole numbers untouched.
fn trim(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::loss;

    #[test]
    fn losses_read_short() {
        for (v, want) in [
            (269236096.0, "2.69e8"),
            (21095.3, "21095"),
            (1000.0, "1000"),
            (99999.4, "99999"),
            (100000.0, "1e5"),
            (999.95, "1000"),
            (1.656354, "1.656"),
            (0.5811105, "0.5811"),
            (12.3456, "12.35"),
            (0.0123, "0.0123"),
            (0.001, "0.001"),
            (4.2e-5, "4.2e-5"),
            (2.0, "2"),
            (-3.25, "-3.25"),
            (-2.5e9, "-2.5e9"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(loss(v), want, "{v}");
        }
    }

    #[test]
    fn losses_in_the_reference_order() {
        use super::loss_order;
        let mut p = vec!["D_fake", "D_real", "G_GAN", "G_L1"];
        loss_order(&mut p);
        assert_eq!(p, ["G_GAN", "G_L1", "D_real", "D_fake"]);
        let mut c = vec![
            "D_A", "D_B", "G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B",
        ];
        loss_order(&mut c);
        assert_eq!(
            c,
            ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
        );
        let mut n = vec![
            "total".to_string(),
            "zeta".into(),
            "style".into(),
            "content".into(),
            "tv".into(),
            "alpha".into(),
        ];
        loss_order(&mut n);
        assert_eq!(n, ["content", "style", "tv", "total", "alpha", "zeta"]);
    }
}
