//! `hushmark inspect FILE --png OUT.png`: a picture of 15–24 kHz with the
//! bursts marked, and with the robust layer a second panel of its band
//! (344 Hz–7 kHz) over a strip of its mark's strength.
//!
//! One pass over the file feeds the short-time Fourier transforms (Hann
//! window, ~23 Hz bins, half overlap) and, with a key, the detector; the
//! robust detector's per-frame strength under its lock is polled after
//! every block (it keeps about 4 s). A spectrogram keeps at most
//! [`MAX_COLUMNS`] columns: when a long file would need more, neighbouring
//! columns are averaged in pairs, so memory stays bounded for any length.
//! Without a key, bursts are located by energy alone (the profile's band
//! 10 dB above the band just below it): anyone can see that something is
//! there, only the key reads it. The robust mark hides under the programme,
//! so without a key its panel shows energy only.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use dsp_core::config::SAMPLE_RATES;
use dsp_core::{robust, Band, Layer, Phy, Profile};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::cli::InspectArgs;
use crate::detect::scan_file;
use crate::report::{self, Place, Printer};
use crate::scan::{Found, Report, Search};
use crate::{fsio, key, ui, Outcome};

/// Lowest frequency shown.
const LOW_HZ: f64 = 15_000.0;
/// Highest frequency shown (or Nyquist, if lower), unless a profile's band
/// reaches higher (`ultrasonic-wide` at 88.2/96 kHz goes up to 44 kHz).
pub const HIGH_HZ: f64 = 24_000.0;
/// The robust panel's range: the layer's band (344 Hz–7 kHz) and a margin.
const ROBUST_LOW_HZ: f64 = 300.0;
const ROBUST_HIGH_HZ: f64 = 7_500.0;
/// The robust layer's band edges, drawn on its panel.
const ROBUST_BAND: Band = Band {
    low_hz: 344,
    high_hz: 7_000,
};
/// Most spectrogram columns kept in memory.
const MAX_COLUMNS: usize = 4096;
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 640;
/// Heights with the robust panel: its spectrogram and the strength strip.
const ROBUST_HEIGHT: u32 = 380;
const STRIP_HEIGHT: u32 = 170;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// A streaming spectrogram of one frequency range.
pub struct Spectrogram {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    n: usize,
    hop: usize,
    rate: u32,
    first_bin: usize,
    bins: usize,
    pending: Vec<f32>,
    /// One window's FFT, and the FFT's scratch: made once, used every hop.
    buf: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Finished columns: mean power per bin.
    columns: Vec<Vec<f32>>,
    /// The column being filled, and how many FFT frames it has.
    acc: Vec<f32>,
    acc_frames: usize,
    frames_per_column: usize,
    total_frames: u64,
    max_columns: usize,
}

impl Spectrogram {
    /// A spectrogram from 15 kHz up to `top_hz` (capped at Nyquist).
    pub fn new(rate: u32, top_hz: f64) -> Result<Spectrogram> {
        let nyquist = rate as f64 / 2.0;
        if nyquist <= LOW_HZ {
            bail!(
                "at {rate} Hz the audio holds nothing above {:.1} kHz; a mark lives above 18 kHz",
                nyquist / 1000.0
            );
        }
        Spectrogram::range(rate, LOW_HZ, top_hz)
    }

    /// A spectrogram from `low_hz` up to `top_hz` (capped at Nyquist).
    pub fn range(rate: u32, low_hz: f64, top_hz: f64) -> Result<Spectrogram> {
        if rate as f64 / 2.0 <= low_hz {
            bail!("at {rate} Hz the audio holds nothing above {low_hz} Hz");
        }
        // About 23 Hz per bin at any rate.
        let n = ((rate as f64 / 23.4).round() as usize).next_power_of_two();
        let df = rate as f64 / n as f64;
        let first_bin = (low_hz / df).floor() as usize;
        let last_bin = ((top_hz.min(rate as f64 / 2.0)) / df).floor() as usize;
        let window = (0..n)
            .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n as f32).cos())
            .collect();
        let fft = FftPlanner::new().plan_fft_forward(n);
        Ok(Spectrogram {
            scratch: vec![Complex::default(); fft.get_inplace_scratch_len()],
            fft,
            window,
            n,
            hop: n / 2,
            rate,
            first_bin,
            bins: last_bin - first_bin + 1,
            pending: Vec::new(),
            buf: vec![Complex::default(); n],
            columns: Vec::new(),
            acc: vec![0.0; last_bin - first_bin + 1],
            acc_frames: 0,
            frames_per_column: 1,
            total_frames: 0,
            max_columns: MAX_COLUMNS,
        })
    }

    pub fn bin_hz(&self, bin: usize) -> f64 {
        (self.first_bin + bin) as f64 * self.rate as f64 / self.n as f64
    }

    pub fn top_hz(&self) -> f64 {
        self.bin_hz(self.bins - 1)
    }

    /// Feed interleaved samples of `channels` channels, mixed down to mono.
    pub fn push_interleaved(&mut self, block: &[f32], channels: usize) {
        let before = self.pending.len();
        self.pending.extend(
            block
                .chunks_exact(channels)
                .map(|f| f.iter().sum::<f32>() / channels as f32),
        );
        self.total_frames += (self.pending.len() - before) as u64;
        let mut start = 0;
        while self.pending.len() - start >= self.n {
            let frame = &self.pending[start..start + self.n];
            for ((b, &x), &w) in self.buf.iter_mut().zip(frame).zip(&self.window) {
                *b = Complex::new(if x.is_finite() { x * w } else { 0.0 }, 0.0);
            }
            self.fft
                .process_with_scratch(&mut self.buf, &mut self.scratch);
            for (k, a) in self.acc.iter_mut().enumerate() {
                *a += self.buf[self.first_bin + k].norm_sqr();
            }
            self.acc_frames += 1;
            if self.acc_frames == self.frames_per_column {
                let col = self
                    .acc
                    .iter()
                    .map(|v| v / self.acc_frames as f32)
                    .collect();
                self.columns.push(col);
                self.acc.iter_mut().for_each(|v| *v = 0.0);
                self.acc_frames = 0;
                if self.columns.len() >= self.max_columns {
                    self.halve();
                }
            }
            start += self.hop;
        }
        self.pending.drain(..start);
    }

    /// Average neighbouring columns: half the columns, twice the time each.
    fn halve(&mut self) {
        let merged = self
            .columns
            .chunks(2)
            .map(|pair| {
                let mut c = pair[0].clone();
                if let Some(b) = pair.get(1) {
                    for (x, y) in c.iter_mut().zip(b) {
                        *x = (*x + y) / 2.0;
                    }
                }
                c
            })
            .collect();
        self.columns = merged;
        self.frames_per_column *= 2;
    }

    /// Centre time of column `i`, in seconds (a column's first window
    /// starts at `i` columns of hops; its energy is centred half a window on).
    pub fn column_time(&self, i: f64) -> f64 {
        (i * (self.frames_per_column * self.hop) as f64 + self.n as f64 / 2.0) / self.rate as f64
    }

    /// Seconds covered by each column.
    pub fn column_seconds(&self) -> f64 {
        (self.frames_per_column * self.hop) as f64 / self.rate as f64
    }

    pub fn duration_s(&self) -> f64 {
        self.total_frames as f64 / self.rate as f64
    }

    /// Mean power in `lo..hi` Hz for every column, in dB.
    pub fn band_db(&self, lo: f64, hi: f64) -> Vec<f64> {
        let bins: Vec<usize> = (0..self.bins)
            .filter(|&b| (lo..=hi).contains(&self.bin_hz(b)))
            .collect();
        self.columns
            .iter()
            .map(|c| {
                let p: f64 =
                    bins.iter().map(|&b| c[b] as f64).sum::<f64>() / bins.len().max(1) as f64;
                10.0 * (p + 1e-20).log10()
            })
            .collect()
    }
}

/// Time spans where `band` holds far more energy (10 dB) than the band just
/// below it: bursts as anyone without the key sees them. Programme content
/// up there (cymbals) raises both bands alike and is not mistaken for a mark.
pub fn energy_bursts(spec: &Spectrogram, band: Band) -> Vec<(f64, f64)> {
    let (lo, hi) = (band.low_hz as f64, (band.high_hz as f64).min(spec.top_hz()));
    if hi <= lo {
        return Vec::new();
    }
    let inside = spec.band_db(lo, hi);
    let below = spec.band_db((lo - 1500.0).max(LOW_HZ), lo - 500.0);
    if inside.is_empty() {
        return Vec::new();
    }
    // Far below any real signal: only numerical noise is quieter.
    let floor = -150.0;
    let mut spans = Vec::new();
    let mut open: Option<usize> = None;
    for (i, (&e, &b)) in inside
        .iter()
        .zip(&below)
        .chain([(&f64::MIN, &0.0)])
        .enumerate()
    {
        let hot = e > floor && e > b + 10.0;
        match (hot, open) {
            (true, None) => open = Some(i),
            (false, Some(s)) => {
                // Edges sit half a column before the first and after the last.
                let (t0, t1) = (
                    spec.column_time(s as f64 - 0.5),
                    spec.column_time(i as f64 - 0.5),
                );
                if t1 - t0 >= 0.05 {
                    spans.push((t0, t1));
                }
                open = None;
            }
            _ => {}
        }
    }
    spans
}

/// The band a profile occupies in audio at `rate` (at the nearest engine rate
/// for rates the engine does not run at).
fn profile_band(profile: Profile, rate: u32) -> Option<Band> {
    let engine = if SAMPLE_RATES.contains(&rate) {
        rate
    } else {
        crate::rates::plan(profile, rate).ok()?.engine_rate()
    };
    Phy::new(profile, engine).ok().map(|p| p.band)
}

/// Inferno-like colour map, `x` in 0..=1.
fn colour(x: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 8] = [
        (0, 0, 4),
        (40, 11, 84),
        (101, 21, 110),
        (159, 42, 99),
        (212, 72, 66),
        (245, 125, 21),
        (250, 193, 39),
        (252, 255, 164),
    ];
    let x = x.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A long ID shortened for a label: `d8da6bf2…6045`.
fn short_id(id: &str) -> String {
    if id.len() > 14 {
        format!("{}…{}", &id[..8], &id[id.len() - 4..])
    } else {
        id.to_string()
    }
}

pub struct Picture<'a> {
    pub title: String,
    /// The ultrasonic panel (15–24 kHz), when an ultrasonic band is searched.
    pub spec: Option<&'a Spectrogram>,
    pub bands: Vec<(Profile, Band)>,
    pub found: &'a [Found],
    /// Bursts seen by energy alone: the band they were seen in, start, end.
    pub energy: &'a [(Band, f64, f64)],
    pub keyed: bool,
    /// The robust panel, when the robust layer is searched.
    pub robust: Option<RobustPanel<'a>>,
}

/// The robust layer's band, and its mark's strength per frame (seconds,
/// mean pilot correlation per cell) as the keyed detector measured it.
pub struct RobustPanel<'a> {
    pub spec: &'a Spectrogram,
    pub strengths: &'a [(f64, f32)],
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The picture's size: taller with the robust panel.
fn size(p: &Picture<'_>) -> (u32, u32) {
    match (p.spec.is_some(), p.robust.is_some()) {
        (true, true) => (WIDTH, HEIGHT + ROBUST_HEIGHT + STRIP_HEIGHT),
        (false, true) => (WIDTH, HEIGHT + STRIP_HEIGHT),
        _ => (WIDTH, HEIGHT),
    }
}

/// Axes and spectrogram pixels of `spec` from `low_hz` in `area`; pixels
/// go to `root`, whose coordinates the chart's pixel range is in.
fn panel<'a, 'b>(
    root: &DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    area: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    spec: &Spectrogram,
    low_hz: f64,
    duration: f64,
    caption: Option<&str>,
    err: &dyn Fn(&dyn std::fmt::Display) -> anyhow::Error,
) -> Result<Chart<'a, 'b>> {
    let top_khz = spec.top_hz() / 1000.0;
    let mut builder = ChartBuilder::on(area);
    if let Some(c) = caption {
        builder.caption(c, ("sans-serif", 22));
    }
    let mut chart = builder
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..duration, low_hz / 1000.0..top_khz)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time (s)")
        .y_desc("frequency (kHz)")
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;

    // Spectrogram pixels, scaled to the loudest 80 dB.
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let cols = spec.columns.len().max(1);
    let db: Vec<Vec<f32>> = spec
        .columns
        .iter()
        .map(|c| c.iter().map(|&v| 10.0 * (v + 1e-20).log10()).collect())
        .collect();
    let max_db = db
        .iter()
        .flat_map(|c| c.iter().copied())
        .fold(f32::MIN, f32::max);
    let (w, h) = ((xr.end - xr.start).max(1), (yr.end - yr.start).max(1));
    let t0 = spec.column_time(0.0);
    let dt = spec.column_seconds().max(1e-9);
    let low_khz = low_hz / 1000.0;
    for px in xr.clone() {
        let t = (px - xr.start) as f64 / w as f64 * duration;
        let c = (((t - t0) / dt + 0.5).max(0.0) as usize).min(cols - 1);
        let column = db.get(c);
        for py in yr.clone() {
            let f = top_khz - (py - yr.start) as f64 / h as f64 * (top_khz - low_khz);
            let bin = ((f * 1000.0 - spec.bin_hz(0)) / (spec.bin_hz(1) - spec.bin_hz(0))).round();
            let level = match column.and_then(|c| c.get(bin.max(0.0) as usize)) {
                Some(&v) => ((v - (max_db - 80.0)) / 80.0) as f64,
                None => 0.0,
            };
            root.draw_pixel((px, py), &colour(level))
                .map_err(|e| err(&e))?;
        }
    }
    Ok(chart)
}

/// Draw the picture into `path` (which must end in .png). Drawn in memory
/// and written here, so a write error is the system's own (a full disk),
/// not the drawing library's internals; the caller names the file.
pub fn draw(p: &Picture<'_>, path: &Path) -> Result<()> {
    let (w, h) = size(p);
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    render(p, &mut rgb)?;
    write_png(path, &rgb, w, h)
}

fn write_png(path: &Path, rgb: &[u8], w: u32, h: u32) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .create(true)
        .open(path)?;
    let mut out = std::io::BufWriter::new(file);
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let png_io = |e: png::EncodingError| match e {
        png::EncodingError::IoError(io) => anyhow::Error::new(io),
        other => anyhow!("PNG encoder: {other}"),
    };
    let mut writer = encoder.write_header().map_err(png_io)?;
    writer.write_image_data(rgb).map_err(png_io)?;
    writer.finish().map_err(png_io)?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}

fn render(p: &Picture<'_>, rgb: &mut [u8]) -> Result<()> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("the bundled font is unreadable"))?;
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw the picture: {e}");
    let root = BitMapBackend::with_buffer(rgb, size(p)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let duration = p
        .spec
        .or(p.robust.as_ref().map(|r| r.spec))
        .map_or(0.0, |s| s.duration_s())
        .max(1e-3);
    let (top, rest) = match p.spec {
        Some(_) => root.split_vertically(HEIGHT),
        None => root.split_vertically(0),
    };
    let mut legend_at = None;
    if let Some(spec) = p.spec {
        let chart = panel(&root, &top, spec, LOW_HZ, duration, Some(&p.title), &err)?;
        legend_at = Some(chart.plotting_area().get_pixel_range());
        draw_ultrasonic(p, spec, &chart, duration, &err)?;
    }
    if let Some(r) = &p.robust {
        let (band_area, strip_area) = rest.split_vertically(rest.dim_in_pixel().1 - STRIP_HEIGHT);
        let caption = match p.spec {
            Some(_) => "robust layer: 344 Hz – 7 kHz".to_string(),
            None => p.title.clone(),
        };
        let chart = panel(
            &root,
            &band_area,
            r.spec,
            ROBUST_LOW_HZ,
            duration,
            Some(&caption),
            &err,
        )?;
        legend_at.get_or_insert(chart.plotting_area().get_pixel_range());
        draw_robust_band(p, &chart, duration, &err)?;
        draw_strip(p, r, &strip_area, duration, &err)?;
    }
    // Legend line at the bottom of the first plot.
    if let Some((xr, yr)) = legend_at {
        let legend = legend_text(p);
        // A dark backing so the legend reads over any spectrogram.
        let width = (legend.chars().count() as f64 * 8.6) as i32 + 12;
        root.draw(&Rectangle::new(
            [
                (xr.start + 2, yr.end - 30),
                ((xr.start + width).min(xr.end - 2), yr.end - 4),
            ],
            BLACK.mix(0.65).filled(),
        ))
        .map_err(|e| err(&e))?;
        root.draw(&Text::new(
            legend,
            (xr.start + 8, yr.end - 24),
            ("sans-serif", 16).into_font().color(&WHITE),
        ))
        .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// A burst's box: its band, a little wider, in kHz.
fn box_khz(band: Band, top_khz: f64) -> (f64, f64) {
    (
        band.low_hz as f64 / 1000.0 - 0.15,
        (band.high_hz as f64 / 1000.0 + 0.15).min(top_khz),
    )
}

/// A decoded mark's box and label (the longest that fits over it).
fn draw_found(
    chart: &Chart<'_, '_>,
    f: &Found,
    (y0, y1): (f64, f64),
    label_y: f64,
    duration: f64,
    err: &dyn Fn(&dyn std::fmt::Display) -> anyhow::Error,
) -> Result<()> {
    let area = chart.plotting_area();
    let w = {
        let (xr, _) = area.get_pixel_range();
        (xr.end - xr.start).max(1)
    };
    area.draw(&Rectangle::new(
        [(f.start_s, y0), (f.end_s, y1)],
        WHITE.stroke_width(2),
    ))
    .map_err(|e| err(&e))?;
    let counter = f
        .detection
        .counter
        .map(|c| format!("#{c}"))
        .unwrap_or_default();
    // About 8.5 px a character.
    let room_px = (f.end_s - f.start_s) / duration * w as f64;
    let full = format!("{} {counter}", short_id(&f.detection.id.to_string()));
    let label = [full, counter]
        .into_iter()
        .find(|l| l.chars().count() as f64 * 8.5 <= room_px);
    if let Some(label) = label {
        area.draw(&Text::new(
            label,
            (f.start_s, label_y),
            ("sans-serif", 15).into_font().color(&WHITE),
        ))
        .map_err(|e| err(&e))?;
    }
    Ok(())
}

fn draw_ultrasonic(
    p: &Picture<'_>,
    spec: &Spectrogram,
    chart: &Chart<'_, '_>,
    duration: f64,
    err: &dyn Fn(&dyn std::fmt::Display) -> anyhow::Error,
) -> Result<()> {
    let area = chart.plotting_area();
    let top_khz = spec.top_hz() / 1000.0;
    // Labels sit this many kHz above their box (0.75 kHz on a 9 kHz axis).
    let label_gap = 0.75 * (top_khz - LOW_HZ / 1000.0) / 9.0;
    // Profile bands: thin cyan lines at their edges.
    for (profile, band) in &p.bands {
        for edge in [band.low_hz, band.high_hz] {
            let y = edge as f64 / 1000.0;
            if y < top_khz {
                area.draw(&PathElement::new(
                    vec![(0.0, y), (duration, y)],
                    CYAN.mix(0.5),
                ))
                .map_err(|e| err(&e))?;
            }
        }
        let y = (band.high_hz as f64 / 1000.0).min(top_khz - 0.2);
        area.draw(&Text::new(
            format!("{profile} band"),
            (duration * 0.005, y + label_gap / 2.0),
            ("sans-serif", 14).into_font().color(&CYAN),
        ))
        .map_err(|e| err(&e))?;
    }
    // Decoded bursts: solid boxes labelled with the ID and counter.
    for f in p.found {
        // Found at this rate, so its profile fits it.
        let Some(band) = profile_band(f.detection.profile, spec.rate) else {
            continue;
        };
        let (y0, y1) = box_khz(band, top_khz);
        let label_y = (y1 + label_gap).min(top_khz - 0.1);
        draw_found(chart, f, (y0, y1), label_y, duration, err)?;
    }
    // Energy-only bursts: dashed boxes.
    if !p.keyed {
        for &(band, t0, t1) in p.energy {
            let (y0, y1) = box_khz(band, top_khz);
            for (a, b) in dashes(t0, t1, duration / 150.0) {
                for y in [y0, y1] {
                    area.draw(&PathElement::new(
                        vec![(a, y), (b, y)],
                        WHITE.stroke_width(2),
                    ))
                    .map_err(|e| err(&e))?;
                }
            }
            for (a, b) in dashes(y0, y1, 0.12) {
                for t in [t0, t1] {
                    area.draw(&PathElement::new(
                        vec![(t, a), (t, b)],
                        WHITE.stroke_width(2),
                    ))
                    .map_err(|e| err(&e))?;
                }
            }
            area.draw(&Text::new(
                "burst?".to_string(),
                (t0, (y1 + label_gap).min(top_khz - 0.1)),
                ("sans-serif", 15).into_font().color(&WHITE),
            ))
            .map_err(|e| err(&e))?;
        }
    }
    Ok(())
}

/// The robust band's edges and its decoded periods, boxed and labelled.
fn draw_robust_band(
    p: &Picture<'_>,
    chart: &Chart<'_, '_>,
    duration: f64,
    err: &dyn Fn(&dyn std::fmt::Display) -> anyhow::Error,
) -> Result<()> {
    let area = chart.plotting_area();
    let (lo, hi) = (
        ROBUST_BAND.low_hz as f64 / 1000.0,
        ROBUST_BAND.high_hz as f64 / 1000.0,
    );
    for y in [lo, hi] {
        area.draw(&PathElement::new(
            vec![(0.0, y), (duration, y)],
            CYAN.mix(0.5),
        ))
        .map_err(|e| err(&e))?;
    }
    area.draw(&Text::new(
        "robust band".to_string(),
        (duration * 0.005, lo + 0.45),
        ("sans-serif", 14).into_font().color(&CYAN),
    ))
    .map_err(|e| err(&e))?;
    for f in p.found {
        if f.detection.profile.layer() == Layer::Robust {
            draw_found(chart, f, (lo, hi), hi - 0.25, duration, err)?;
        }
    }
    Ok(())
}

/// The robust mark's strength over time: one bar per pixel column (the
/// mean of the frames in it); without a key there is nothing to measure.
fn draw_strip(
    p: &Picture<'_>,
    r: &RobustPanel<'_>,
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    duration: f64,
    err: &dyn Fn(&dyn std::fmt::Display) -> anyhow::Error,
) -> Result<()> {
    let peak = r.strengths.iter().map(|&(_, v)| v).fold(0.0f32, f32::max);
    let top = (peak as f64 * 1.15).max(0.1);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_top(4)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..duration, 0.0..top)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_labels(3)
        .x_desc("time (s)")
        .y_desc("strength")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| err(&e))?;
    let plot = chart.plotting_area();
    let text = if !p.keyed {
        "robust mark strength: needs the key (--key)".to_string()
    } else if r.strengths.is_empty() {
        "robust mark strength: no lock on a mark".to_string()
    } else {
        "robust mark strength per frame (keyed pilot correlation; about 0 where unmarked)"
            .to_string()
    };
    let (xr, _) = plot.get_pixel_range();
    let columns = (xr.end - xr.start).max(1) as usize;
    let mut sums = vec![(0.0f64, 0u32); columns];
    for &(t, v) in r.strengths {
        let c = ((t / duration) * columns as f64) as usize;
        if let Some(s) = sums.get_mut(c.min(columns - 1)) {
            s.0 += v as f64;
            s.1 += 1;
        }
    }
    let dt = duration / columns as f64;
    for (c, &(sum, n)) in sums.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let v = (sum / n as f64).clamp(0.0, top);
        let t = (c as f64 + 0.5) * dt;
        plot.draw(&PathElement::new(
            vec![(t, 0.0), (t, v)],
            RGBColor(40, 160, 90),
        ))
        .map_err(|e| err(&e))?;
    }
    plot.draw(&Text::new(
        text,
        (duration * 0.005, top * 0.95),
        ("sans-serif", 14).into_font().color(&BLACK),
    ))
    .map_err(|e| err(&e))?;
    Ok(())
}

fn dashes(from: f64, to: f64, step: f64) -> Vec<(f64, f64)> {
    let step = step.max(1e-9);
    let mut v = Vec::new();
    let mut a = from;
    while a < to {
        v.push((a, (a + step * 0.6).min(to)));
        a += step;
    }
    v
}

fn legend_text(p: &Picture<'_>) -> String {
    if p.keyed {
        if p.found.is_empty() {
            return "key given: no mark decoded".into();
        }
        let mut ids: Vec<String> = p.found.iter().map(|f| f.detection.id.to_string()).collect();
        ids.sort();
        ids.dedup();
        let counts: Vec<String> = ids
            .iter()
            .map(|id| {
                let n = |layer| {
                    p.found
                        .iter()
                        .filter(|f| {
                            f.detection.id.to_string() == *id
                                && f.detection.profile.layer() == layer
                        })
                        .count()
                };
                let mut what = Vec::new();
                if p.spec.is_some() {
                    what.push(format!("{} burst(s)", n(Layer::Ultrasonic)));
                }
                if p.robust.is_some() {
                    what.push(format!("{} robust period(s)", n(Layer::Robust)));
                }
                format!("{id} ({})", what.join(", "))
            })
            .collect();
        format!("decoded with the key: {}", counts.join(", "))
    } else if p.spec.is_some() {
        format!(
            "no key: {} burst(s) seen by band energy alone; --key decodes them",
            p.energy.len()
        )
    } else {
        "no key: energy only; --key measures and decodes the robust mark".into()
    }
}

pub fn run(args: &InspectArgs) -> Result<Outcome> {
    let ext = args
        .png
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if ext.as_deref() != Some("png") {
        bail!(
            "--png {}: the picture's name must end in .png",
            args.png.display()
        );
    }
    fsio::check_writable_destination(&args.png, args.force)?;
    if args.file.exists() {
        fsio::ensure_distinct(&args.file, &args.png)?;
    }
    let key = match &args.key {
        Some(path) => Some(key::load(path)?),
        None => None,
    };
    let profiles = args.search.profiles();
    // Without a key, --expect has nothing to confirm with; it is checked all the same.
    let search = match key {
        Some(k) => Some(Search::from_args(&args.search, k)?),
        None => None,
    };
    let analysis = analyse(&args.file, search.as_ref(), &profiles)?;
    let info = &analysis.info;
    let bands: Vec<(Profile, Band)> = profiles
        .iter()
        .filter_map(|&p| profile_band(p, info.rate).map(|b| (p, b)))
        .collect();
    let energy: Vec<(Band, f64, f64)> = match (&analysis.spec, key) {
        (Some(spec), None) => bands
            .iter()
            .flat_map(|&(_, b)| {
                energy_bursts(spec, b)
                    .into_iter()
                    .map(move |(t0, t1)| (b, t0, t1))
            })
            .collect(),
        _ => Vec::new(),
    };
    let name = args.file.display().to_string();
    if key.is_some() {
        let mut table = Printer::new(false, "FILE");
        for f in &analysis.found {
            let line = table.line(
                &Report::Found(*f),
                info.rate,
                &Place::default(),
                &name,
                false,
            );
            if let Some(line) = line {
                report::print_line(&line)?;
            }
        }
    } else {
        for (_, t0, t1) in &energy {
            report::print_line(&format!(
                "{t0:>9.2}  {t1:>9.2}  energy in the mark band (no key: not decoded)  {name}"
            ))?;
        }
    }
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(name.clone());
    let range = match (&analysis.spec, &analysis.robust_spec) {
        (Some(spec), _) => format!("{:.0}–{:.1} kHz", LOW_HZ / 1000.0, spec.top_hz() / 1000.0),
        (None, _) => format!(
            "{:.1}–{:.1} kHz",
            ROBUST_LOW_HZ / 1000.0,
            ROBUST_HIGH_HZ / 1000.0
        ),
    };
    let picture = Picture {
        title: format!("{file_name} — {range}, {}", info.describe()),
        spec: analysis.spec.as_ref(),
        bands,
        found: &analysis.found,
        energy: &energy,
        keyed: key.is_some(),
        robust: analysis.robust_spec.as_ref().map(|spec| RobustPanel {
            spec,
            strengths: &analysis.strengths,
        }),
    };
    let tmp = fsio::public_temp_beside(&args.png)?;
    draw(&picture, tmp.path()).with_context(|| format!("cannot write {}", args.png.display()))?;
    fsio::persist(tmp, &args.png, args.force)?;
    let (w, h) = size(&picture);
    ui::note(format!(
        "wrote {} ({w}x{h}): {}",
        args.png.display(),
        legend_text(&picture)
    ));
    if let Some(d) = &analysis.damage {
        // As detect: drawn as far as it reads, and a failure (exit 2).
        ui::error(format!("{d}; scanned only what was readable"));
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}

/// What one pass over a file gives `inspect`.
pub struct Analysis {
    /// The ultrasonic panel's spectrogram, if an ultrasonic band is searched.
    pub spec: Option<Spectrogram>,
    /// The robust band's spectrogram, if the robust layer is searched.
    pub robust_spec: Option<Spectrogram>,
    /// The robust mark's strength per frame: (seconds, strength).
    pub strengths: Vec<(f64, f32)>,
    pub found: Vec<Found>,
    pub info: crate::audio::decode::SourceInfo,
    /// Why the file looks damaged, as `detect` says it.
    pub damage: Option<String>,
}

/// One pass: spectrograms, plus detection and the robust strength when
/// there is a key (`search`).
pub fn analyse(path: &Path, search: Option<&Search>, profiles: &[Profile]) -> Result<Analysis> {
    let ultrasonic = profiles.iter().any(|p| p.layer() == Layer::Ultrasonic);
    let robust = profiles.contains(&Profile::Robust);
    let mut spec: Option<Spectrogram> = None;
    let mut robust_spec: Option<Spectrogram> = None;
    let mut spec_error = None;
    // Strength per embedder frame (768 samples at 48 kHz): a frame seen in
    // several polls keeps its latest value.
    let mut strengths: BTreeMap<u64, f32> = BTreeMap::new();
    let mut poll = vec![(0u64, 0.0f32); 512];
    let mut feed = |info: &crate::audio::decode::SourceInfo, block: &[f32]| {
        if spec_error.is_some() {
            return;
        }
        if spec.is_none() && robust_spec.is_none() {
            let made = (|| -> Result<()> {
                if ultrasonic {
                    let top = profiles
                        .iter()
                        .filter_map(|&p| profile_band(p, info.rate))
                        .map(|b| b.high_hz as f64 + 1_000.0)
                        .fold(HIGH_HZ, f64::max);
                    spec = Some(Spectrogram::new(info.rate, top)?);
                }
                if robust {
                    robust_spec = Some(Spectrogram::range(
                        info.rate,
                        ROBUST_LOW_HZ,
                        ROBUST_HIGH_HZ,
                    )?);
                }
                Ok(())
            })();
            if let Err(e) = made {
                spec_error = Some(e);
                return;
            }
        }
        for s in [spec.as_mut(), robust_spec.as_mut()].into_iter().flatten() {
            s.push_interleaved(block, info.channels);
        }
    };
    let hop = (robust::STREAM_RATE / robust::MARK_RATE) as u64 * 256;
    let (found, info, damage) = match search {
        Some(search) => {
            let scan = scan_file(
                path,
                search,
                |_, _| Ok(()),
                |info, block, scanner| {
                    feed(info, block);
                    let n = scanner.robust_strengths(&mut poll);
                    for &(sample, v) in &poll[..n] {
                        strengths.insert((sample + hop / 2) / hop, v);
                    }
                },
            )
            .with_context(|| format!("cannot inspect {}", path.display()))?;
            (scan.found, scan.info, scan.damage)
        }
        None => {
            let mut file = crate::audio::decode::AudioFile::open(path)?;
            let info = file.info().clone();
            while let Some(block) = file.next_block()? {
                if ui::stopping() {
                    bail!("interrupted");
                }
                feed(&info, block);
            }
            if file.decoded_frames() == 0 {
                bail!("{} holds no audio (0 samples)", path.display());
            }
            (Vec::new(), info, file.damage())
        }
    };
    if let Some(e) = spec_error {
        return Err(e.context(format!("{}", path.display())));
    }
    if spec.is_none() && robust_spec.is_none() {
        bail!("{} holds no audio", path.display());
    }
    let rate = robust::STREAM_RATE as f64;
    Ok(Analysis {
        spec,
        robust_spec,
        strengths: strengths
            .into_iter()
            .map(|(k, v)| ((k * hop) as f64 / rate, v))
            .collect(),
        found,
        info,
        damage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_lands_in_its_bin_and_bursts_are_seen_without_a_key() {
        let rate = 48_000;
        let mut x = vec![0.0f32; rate as usize * 4];
        // 1 s of 20.5 kHz from 1 s to 2 s.
        for (i, v) in x
            .iter_mut()
            .enumerate()
            .skip(rate as usize)
            .take(rate as usize)
        {
            *v = 0.03 * (std::f32::consts::TAU * 20_500.0 * i as f32 / rate as f32).sin();
        }
        let mut s = Spectrogram::new(rate, HIGH_HZ).unwrap();
        for block in x.chunks(1000) {
            s.push_interleaved(block, 1);
        }
        let spans = energy_bursts(
            &s,
            Band {
                low_hz: 20_000,
                high_hz: 21_600,
            },
        );
        assert_eq!(spans.len(), 1, "{spans:?}");
        let (t0, t1) = spans[0];
        assert!(
            (t0 - 1.0).abs() < 0.05 && (t1 - 2.0).abs() < 0.05,
            "{t0} {t1}"
        );
    }

    #[test]
    fn memory_stays_bounded_for_long_files() {
        let mut s = Spectrogram::new(48_000, HIGH_HZ).unwrap();
        s.max_columns = 64;
        let block = vec![0.0f32; 48_000];
        for _ in 0..120 {
            s.push_interleaved(&block, 1);
        }
        // 120 s would be ~5600 columns at full resolution.
        assert!(s.columns.len() < 64, "{}", s.columns.len());
        assert!(s.column_seconds() > 120.0 / 64.0);
        assert!((s.duration_s() - 120.0).abs() < 1e-6);
    }

    #[test]
    fn low_rates_cannot_be_inspected() {
        assert!(Spectrogram::new(22_050, HIGH_HZ).is_err());
    }
}
