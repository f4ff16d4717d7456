//! The results page of one run as one self-contained HTML document: what the run is (kind, state,
//! device), its timing, one inline SVG chart per loss (and the learning rate) with every recorded
//! point, its samples as `data:` URIs, and its preset's text. Nothing on it is fetched: it opens
//! from a file, without a server, as the reference's `index.html` of each epoch's images does
//! (pytorch-CycleGAN-and-pix2pix `util/html.py`), here with the curves its visdom plot shows.
//!
//! Pure: [`html`] builds the text from what [`super::gather`] read; nothing here touches a file.

use crate::run::list::RunSummary;
use crate::run::metrics::Record;
use base64::Engine as _;
use std::fmt::Write as _;

/// The `<meta name="generator">` every report carries: a file with it is a previous report, which
/// a new one may replace without `--force`.
pub const GENERATOR: &str = "aiart runs report";

/// One image on the page: a checkpoint's sample (or style transfer's image), already PNG-encoded
/// at its shown size.
#[derive(Clone, Debug)]
pub struct Shot {
    pub step: u64,
    /// what it is: `checkpoint`, `newest sample`
    pub caption: String,
    /// PNG bytes, embedded as a `data:image/png;base64,` URI
    pub png: Vec<u8>,
    /// its size as embedded, px
    pub width: u32,
    pub height: u32,
    /// the size of the file on disk, px, where it was downscaled
    pub original: Option<(u32, u32)>,
}

/// When the run ran, as the page states it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// unix seconds (run.json's start)
    pub started: f64,
    /// unix seconds: the last heartbeat of a run that is over, None while it runs
    pub ended: Option<f64>,
    /// seconds from start to end (or to the report, while it runs)
    pub elapsed: f64,
    /// steps a second over the recorded steps (first to last record, pauses included); None
    /// with fewer than two timed records
    pub steps_per_s: Option<f64>,
}

impl Timing {
    /// The timing of a run from its start, its end (if over), the report's time and its records.
    pub fn of(started: f64, ended: Option<f64>, now: f64, records: &[Record]) -> Self {
        let timed: Vec<(u64, f64)> = records
            .iter()
            .filter_map(|r| r.time.map(|t| (r.step, t)))
            .collect();
        let steps_per_s = match (timed.first(), timed.last()) {
            (Some(a), Some(b)) if b.1 > a.1 && b.0 > a.0 => Some((b.0 - a.0) as f64 / (b.1 - a.1)),
            _ => None,
        };
        Self {
            started,
            ended,
            elapsed: (ended.unwrap_or(now) - started).max(0.0),
            steps_per_s,
        }
    }
}

/// What the page shows, as read.
pub struct Page<'a> {
    pub summary: &'a RunSummary,
    /// run.json's device (`cpu`, `cuda:0`)
    pub device: &'a str,
    pub timing: Timing,
    /// every record of metrics.jsonl, oldest first
    pub records: &'a [Record],
    pub shots: &'a [Shot],
    /// images that could not be shown: (file, why)
    pub missing: &'a [(String, String)],
    /// the effective preset (preset.toml), as text
    pub preset: &'a str,
    /// unix seconds the page was made
    pub made: f64,
}

/// `s` with `& < > " '` escaped, safe in HTML text and in quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1h02m03s`, `4m05s`, `6.2s`.
fn duration(secs: f64) -> String {
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let s = secs as u64;
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// The series the page charts: each loss in the reference's order, then `lr`; each as (step,
/// value) for every record that has it (a `null` loss is kept as NaN: the line breaks there).
pub fn series(records: &[Record]) -> Vec<(String, Vec<(u64, f64)>)> {
    let mut names: Vec<String> = vec![];
    for r in records {
        for (k, _) in &r.losses {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    crate::human::loss_order(&mut names);
    let mut out: Vec<(String, Vec<(u64, f64)>)> = names
        .into_iter()
        .map(|name| {
            let pts = records
                .iter()
                .filter_map(|r| r.loss(&name).map(|v| (r.step, v)))
                .collect();
            (name, pts)
        })
        .collect();
    let lr: Vec<(u64, f64)> = records
        .iter()
        .filter_map(|r| r.lr.map(|v| (r.step, v)))
        .collect();
    if !lr.is_empty() {
        out.push(("lr".into(), lr));
    }
    out
}

/// The size, px, a small image is enlarged towards on the page (by a whole factor).
const SHOWN_AT_LEAST: u32 = 256;

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 28.0;

/// One series as an SVG chart: every finite point on a polyline (broken at a non-finite value),
/// the value axis on a log scale when every value is positive and they span more than 100×.
/// `data-curve` names it and `data-points` counts its finite points.
pub fn chart(name: &str, pts: &[(u64, f64)]) -> String {
    let finite: Vec<(u64, f64)> = pts.iter().copied().filter(|p| p.1.is_finite()).collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let log = !finite.is_empty() && lo > 0.0 && hi / lo > 100.0;
    let f = |v: f64| if log { v.log10() } else { v };
    let (ylo, yhi) = if finite.is_empty() {
        (0.0, 1.0)
    } else if f(hi) > f(lo) {
        (f(lo), f(hi))
    } else {
        (f(lo) - 0.5, f(hi) + 0.5)
    };
    let (x0, x1) = match (pts.first(), pts.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => (a.0 as f64, b.0 as f64),
        (Some(a), _) => (a.0 as f64 - 0.5, a.0 as f64 + 0.5),
        _ => (0.0, 1.0),
    };
    let x = |s: u64| LEFT + (s as f64 - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (yhi - f(v)) / (yhi - ylo) * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"curve\" data-curve=\"{n}\" data-points=\"{c}\" viewBox=\"0 0 {W} {H}\" \
         width=\"{W}\" height=\"{H}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
         aria-label=\"{n}\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" \
         fill=\"none\" stroke=\"#ccc\"/>",
        n = escape(name),
        c = finite.len(),
        pw = W - LEFT - RIGHT,
        ph = H - TOP - BOTTOM,
    );
    // the line, broken where a value is not finite
    let mut line: Vec<String> = vec![];
    let mut lines: Vec<Vec<String>> = vec![];
    for &(step, v) in pts {
        if v.is_finite() {
            line.push(format!("{:.2},{:.2}", x(step), y(v)));
        } else if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    for l in lines {
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"1.5\" points=\"{}\"/>",
            l.join(" ")
        );
    }
    let label = |v: f64| crate::human::loss(v);
    if !finite.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{hi}</text>\
             <text x=\"{lx}\" y=\"{by}\" text-anchor=\"end\">{lo}</text>",
            lx = LEFT - 4.0,
            ty = TOP + 10.0,
            by = H - BOTTOM,
            hi = escape(&label(hi)),
            lo = escape(&label(lo)),
        );
    }
    if let (Some(a), Some(b)) = (pts.first(), pts.last()) {
        let _ = write!(
            s,
            "<text x=\"{LEFT}\" y=\"{ay}\">step {a}</text>\
             <text x=\"{rx}\" y=\"{ay}\" text-anchor=\"end\">step {b}</text>",
            ay = H - 8.0,
            rx = W - RIGHT,
            a = a.0,
            b = b.0,
        );
    }
    let _ = write!(
        s,
        "<text x=\"{cx}\" y=\"{ty}\" text-anchor=\"middle\">{n}{scale}</text></svg>",
        cx = LEFT + (W - LEFT - RIGHT) / 2.0,
        ty = TOP - 8.0,
        n = escape(name),
        scale = if log { " (log scale)" } else { "" },
    );
    s
}

/// What an inline script records on `<body>` once the page has loaded, so a headless browser's
/// `--dump-dom` shows it: `data-images` (how many `<img>`), `data-images-loaded` (how many are
/// complete with a natural width), `data-curves` (`name=points …`, the points each chart's
/// polylines hold as the browser parsed them).
const CHECK_SCRIPT: &str = "<script>\nwindow.addEventListener('load', function () {\n\
  var imgs = document.images, ok = 0;\n\
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }\n\
  var curves = [];\n\
  document.querySelectorAll('svg[data-curve]').forEach(function (s) {\n\
    var n = 0;\n\
    s.querySelectorAll('polyline').forEach(function (p) { n += p.points.numberOfItems; });\n\
    curves.push(s.getAttribute('data-curve') + '=' + n);\n\
  });\n\
  document.body.setAttribute('data-images', imgs.length);\n\
  document.body.setAttribute('data-images-loaded', ok);\n\
  document.body.setAttribute('data-curves', curves.join(' '));\n\
});\n</script>\n";

const STYLE: &str = "<style>\nbody{font-family:system-ui,sans-serif;margin:2em;color:#222}\n\
table{border-collapse:collapse}td,th{padding:2px 12px 2px 0;text-align:left;vertical-align:top}\n\
svg.curve{font-size:11px;margin:4px 8px 12px 0}svg text{fill:#444}\n\
.shots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:12px;color:#555}\n\
img{image-rendering:pixelated;max-width:100%;height:auto}pre{background:#f6f8fa;padding:1em;overflow:auto}\n\
</style>\n";

/// The whole page (see the module's doc).
pub fn html(page: &Page) -> String {
    let r = page.summary;
    let mut s = String::new();
    let title = format!("{} — aiart run report", r.id);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"generator\" content=\"{GENERATOR}\">\n<title>{}</title>\n{STYLE}</head>\n\
         <body data-run=\"{}\">\n<h1>{}</h1>\n",
        escape(&title),
        escape(&r.id),
        escape(&r.id),
    );
    let state = if r.detail.is_empty() {
        r.state.to_string()
    } else {
        format!("{} ({})", r.state, r.detail)
    };
    let t = page.timing;
    let rows = [
        ("kind", r.kind.to_string()),
        ("state", state),
        ("device", page.device.to_string()),
        ("host", r.host.clone()),
        ("steps", format!("{} (epoch {})", r.steps_text(), r.epoch)),
        ("started", crate::run::clock::iso(t.started)),
        (
            "ended",
            t.ended
                .map(crate::run::clock::iso)
                .unwrap_or_else(|| "still running at the report's time".into()),
        ),
        ("elapsed", duration(t.elapsed)),
        (
            "speed",
            t.steps_per_s.map_or("-".into(), |v| {
                format!("{v:.3} steps/s (first to last record, pauses included)")
            }),
        ),
        ("report made", crate::run::clock::iso(page.made)),
    ];
    s.push_str("<table class=\"facts\">\n");
    for (k, v) in rows {
        let _ = writeln!(s, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
    }
    s.push_str("</table>\n<h2>Curves</h2>\n");
    let series = series(page.records);
    if series.is_empty() {
        s.push_str("<p>No metrics recorded yet.</p>\n");
    }
    for (name, pts) in &series {
        s.push_str(&chart(name, pts));
        s.push('\n');
    }
    s.push_str("<h2>Samples</h2>\n<div class=\"shots\">\n");
    if page.shots.is_empty() {
        s.push_str("<p>No samples yet.</p>\n");
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    for shot in page.shots {
        let scaled = shot.original.map_or(String::new(), |(w, h)| {
            format!(", shown at {}×{} of {w}×{h}", shot.width, shot.height)
        });
        // small samples are shown enlarged (whole pixels), so a 32 px grid can be read
        let k = (SHOWN_AT_LEAST / shot.width.max(shot.height).max(1)).max(1);
        let _ = writeln!(
            s,
            "<figure><img src=\"data:image/png;base64,{}\" width=\"{}\" height=\"{}\" \
             style=\"width:{}px\" alt=\"step {}\"><figcaption>step {}: {}{}\
             </figcaption></figure>",
            b64.encode(&shot.png),
            shot.width,
            shot.height,
            shot.width * k,
            shot.step,
            shot.step,
            escape(&shot.caption),
            escape(&scaled),
        );
    }
    s.push_str("</div>\n");
    for (file, why) in page.missing {
        let _ = writeln!(
            s,
            "<p class=\"missing\">not shown: {}: {}</p>",
            escape(file),
            escape(why)
        );
    }
    let _ = write!(
        s,
        "<h2>Preset</h2>\n<pre class=\"preset\">{}</pre>\n{CHECK_SCRIPT}</body>\n</html>\n",
        escape(page.preset)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::Kind;
    use crate::run::list::UserState;

    fn summary() -> RunSummary {
        RunSummary {
            id: "20261207-000000-p2p".into(),
            path: "/nowhere/runs/20261207-000000-p2p".into(),
            kind: Kind::Pix2Pix,
            state: UserState::Finished,
            detail: String::new(),
            scale: None,
            job: None,
            job_output: None,
            sweep: None,
            step: 5,
            total_steps: 5,
            epoch: 1,
            losses: Default::default(),
            gpu: None,
            images_per_s: None,
            updated: 1_795_911_800.0,
            pid: 1,
            host: "box".into(),
            started: 1_795_911_739.0,
        }
    }

    fn records() -> Vec<Record> {
        (1..=5u64)
            .map(|s| Record {
                step: s,
                epoch: 1,
                time: Some(1_795_911_739.0 + s as f64),
                lr: Some(0.0002),
                scale: None,
                // a non-finite value breaks G_L1's line at step 3
                losses: vec![
                    ("G_GAN".into(), 1.0 / s as f64),
                    (
                        "G_L1".into(),
                        if s == 3 { f64::NAN } else { 10.0 + s as f64 },
                    ),
                ]
                .into(),
            })
            .collect()
    }

    fn page_with(preset: &str, shots: &[Shot]) -> String {
        let recs = records();
        html(&Page {
            summary: &summary(),
            device: "cpu",
            timing: Timing::of(1_795_911_739.0, Some(1_795_911_800.0), 0.0, &recs),
            records: &recs,
            shots,
            missing: &[],
            preset,
            made: 1_795_911_801.0,
        })
    }

    #[test]
    fn the_preset_text_is_escaped() {
        let preset = "name = \"<script>alert('x')</script> & co\"\n";
        let page = page_with(preset, &[]);
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains(
            "name = &quot;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co&quot;"
        ));
        // the page's only script is its own check
        assert_eq!(page.matches("<script>").count(), 1);
    }

    #[test]
    fn every_recorded_point_is_on_its_curve() {
        let page = page_with("", &[]);
        let curve = |name: &str| -> Vec<&str> {
            let start = page
                .find(&format!("data-curve=\"{name}\""))
                .unwrap_or_else(|| panic!("{name}: {page}"));
            let svg = &page[start..start + page[start..].find("</svg>").unwrap()];
            svg.split("\" points=\"")
                .skip(1)
                .flat_map(|p| p[..p.find('"').unwrap()].split(' '))
                .collect()
        };
        assert_eq!(curve("G_GAN").len(), 5);
        assert_eq!(curve("lr").len(), 5);
        // the NaN at step 3 is left out and breaks the line in two
        assert_eq!(curve("G_L1").len(), 4);
        assert!(page.contains("data-curve=\"G_L1\" data-points=\"4\""));
        // each point's x is its step: steps 1 … 5 over the plot's width, in order
        let xs: Vec<f64> = curve("G_GAN")
            .iter()
            .map(|p| p.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(xs.first(), Some(&LEFT));
        assert_eq!(xs.last(), Some(&(W - RIGHT)));
        assert!(xs.windows(2).all(|w| w[1] > w[0]));
        // G_GAN spans 5× (linear), so no log axis; the reference's order (G_GAN before G_L1)
        assert!(!page.contains("G_GAN (log scale)"));
        assert!(page.find("data-curve=\"G_GAN\"") < page.find("data-curve=\"G_L1\""));
    }

    #[test]
    fn an_image_is_embedded_as_a_data_uri() {
        let img = image::RgbImage::from_pixel(3, 2, image::Rgb([200, 10, 10]));
        let mut png = vec![];
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let shot = Shot {
            step: 4,
            caption: "sample at checkpoint".into(),
            png: png.clone(),
            width: 3,
            height: 2,
            original: Some((1024, 683)),
        };
        let page = page_with("", &[shot]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
        assert!(page.contains(&format!(
            "<img src=\"data:image/png;base64,{b64}\" width=\"3\" height=\"2\" \
             style=\"width:255px\" alt=\"step 4\">"
        )));
        assert!(page.contains("step 4: sample at checkpoint, shown at 3×2 of 1024×683"));
        // nothing is fetched: no other source or link
        assert!(!page.contains("src=\"http") && !page.contains("href="));
    }

    #[test]
    fn the_facts_and_the_timing_are_stated() {
        let page = page_with("", &[]);
        for want in [
            "<th>kind</th><td>pix2pix</td>",
            "<th>state</th><td>finished</td>",
            "<th>device</th><td>cpu</td>",
            "<th>started</th><td>2026-11-29T00:22:19Z</td>",
            "<th>ended</th><td>2026-11-29T00:23:20Z</td>",
            "<th>elapsed</th><td>1m01s</td>",
            "<th>speed</th><td>1.000 steps/s",
        ] {
            assert!(page.contains(want), "{want}: {page}");
        }
    }
}
