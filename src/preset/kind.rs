//! What a preset trains and a run is: the kinds, each spelled on disk (`kind = "cyclegan"` in a
//! preset, `"kind": "cyclegan"` in run.json, a checkpoint's meta.json) as it always was, so run
//! directories and presets read both ways.

use serde::{Deserialize, Serialize};

/// A kind of run. Serialised as today's strings: `nst`, `pix2pix`, `cyclegan`,
/// `fast_neural_style`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Style transfer by optimisation (Gatys et al.; jcjohnson/neural-style). The default only
    /// so that records with every other field defaulted can be written in tests.
    #[default]
    #[serde(rename = "nst")]
    Nst,
    /// pix2pix (Isola et al. 2017; pytorch-CycleGAN-and-pix2pix)
    #[serde(rename = "pix2pix")]
    Pix2Pix,
    /// CycleGAN (Zhu et al. 2017; pytorch-CycleGAN-and-pix2pix)
    #[serde(rename = "cyclegan")]
    CycleGan,
    /// Fast style transfer (Johnson et al. 2016; pytorch/examples fast_neural_style)
    #[serde(rename = "fast_neural_style")]
    FastStyle,
}

impl Kind {
    /// Every kind, in the order messages list them.
    pub const ALL: [Kind; 4] = [Kind::Nst, Kind::Pix2Pix, Kind::CycleGan, Kind::FastStyle];

    /// The kind as files spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Nst => "nst",
            Kind::Pix2Pix => "pix2pix",
            Kind::CycleGan => "cyclegan",
            Kind::FastStyle => "fast_neural_style",
        }
    }

    /// The kind spelled `text`; None for no kind.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// pix2pix or CycleGAN: a generator `aiart translate` runs.
    pub fn is_gan(self) -> bool {
        matches!(self, Kind::Pix2Pix | Kind::CycleGan)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Compares with a kind as files spell it (code that still holds the text: a checkpoint's
/// meta.json read as JSON, the dashboard's preset list).
impl PartialEq<&str> for Kind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn kinds_are_spelled_as_before_both_ways() {
        for k in Kind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), k);
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(
            Kind::ALL.map(Kind::as_str),
            ["nst", "pix2pix", "cyclegan", "fast_neural_style"]
        );
        assert_eq!(Kind::parse("CycleGAN"), None);
    }
}
