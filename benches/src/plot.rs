//! PNG figures for the report (plotters, with the font `host/` bundles).

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::bench::BenchResult;
use crate::suite::SnrPoint;

/// The font `host/` bundles for its spectrograms (DejaVu Sans, free licence
/// in `host/assets/`), so figures need no system fonts.
const FONT: &[u8] = include_bytes!("../../host/assets/DejaVuSans.ttf");
const COLOURS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
];

fn fonts() -> Result<(), String> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the bundled font is not usable".to_string());
    });
    result
}

/// A legend entry: a line `len` pixels long in the series' style (short
/// for dashed series, so they look dashed).
fn legend_line(len: i32, style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + len, y)], style)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Detection rate against in-band SNR, one colour per profile, solid for
/// single bursts and dashed with soft combining.
pub fn snr_curve(points: &[SnrPoint], caption: &str, out: &Path) -> Result<(), String> {
    fonts()?;
    let root = BitMapBackend::new(out, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (lo, hi) = points.iter().fold((f32::MAX, f32::MIN), |(a, b), p| {
        (a.min(p.snr_db), b.max(p.snr_db))
    });
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(lo..hi, 0f32..1.02f32)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("in-band SNR (dB), white noise")
        .y_desc("bursts detected")
        .draw()
        .map_err(err)?;
    let mut profiles: Vec<_> = points.iter().map(|p| p.profile).collect();
    profiles.dedup();
    for (i, profile) in profiles.iter().enumerate() {
        let style = COLOURS[i % COLOURS.len()].stroke_width(2);
        let series: Vec<&SnrPoint> = points.iter().filter(|p| p.profile == *profile).collect();
        let single = series.iter().map(|p| (p.snr_db, p.single));
        let combined = series.iter().map(|p| (p.snr_db, p.combined));
        chart
            .draw_series(LineSeries::new(single, style))
            .map_err(err)?
            .label(format!("{} single burst", profile.name()))
            .legend(legend_line(20, style));
        chart
            .draw_series(DashedLineSeries::new(combined, 6, 4, style))
            .map_err(err)?
            .label(format!("{} with combining", profile.name()))
            .legend(legend_line(8, style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Cost per frame against block size for embed (stereo) and detect (mono).
pub fn cost_per_block(results: &[BenchResult], caption: &str, out: &Path) -> Result<(), String> {
    fonts()?;
    let series = |group: &str| -> Vec<(f64, f64)> {
        results
            .iter()
            .filter(|r| r.group == group)
            .filter_map(|r| r.param.parse::<f64>().ok().map(|b| (b, r.ns_per_frame())))
            .collect()
    };
    let (embed, detect) = (series("embed/block"), series("detect/block"));
    if embed.is_empty() && detect.is_empty() {
        return Err("no embed/block or detect/block results to plot".into());
    }
    let top = embed.iter().chain(&detect).map(|p| p.1).fold(0.0, f64::max) * 1.2;
    let root = BitMapBackend::new(out, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((16f64..8192f64).log_scale(), 0f64..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("block size (frames)")
        .y_desc("ns per frame")
        .draw()
        .map_err(err)?;
    for (i, (name, s)) in [("embed, stereo i16", embed), ("detect, mono i16", detect)]
        .into_iter()
        .enumerate()
    {
        let c = COLOURS[i];
        chart
            .draw_series(LineSeries::new(s.clone(), c.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(legend_line(20, c.stroke_width(2)));
        chart
            .draw_series(s.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
