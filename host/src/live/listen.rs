//! `hushmark listen`: capture from an input device and print marks as they
//! are found (each with its profile, so its layer), with wall-clock times;
//! with `--presence`, the robust layer's per-second verdicts too.

use std::time::SystemTime;

use anyhow::Result;

use super::{run_input, InputEvent};
use crate::airing::{utc, WallClock};
use crate::cli::ListenArgs;
use crate::report::{self, Place, Printer};
use crate::scan::{start_live, Report, Scanner, Search};
use crate::{key, ui, Outcome};

pub fn run(args: &ListenArgs) -> Result<Outcome> {
    let key = key::load(&args.key.key)?;
    let search = Search::from_args(&args.search, key)?;
    let stop = ui::stop_after(args.duration)?;
    let status = crate::progress::status_line();
    let mut scanner: Option<Scanner> = None;
    let mut device = String::from("?");
    let mut clock = WallClock {
        stream_s: 0.0,
        wall: SystemTime::now(),
    };
    let mut found: Vec<Report> = Vec::new();
    // Marks found, and seconds the robust layer confirmed: either counts
    // for the exit status.
    let (mut count, mut confirmed) = (0u64, 0u64);
    let mut dev_rate = 0u32;
    let mut printer = Printer::new(args.json, "UTC");
    let mut print = |r: &Report, clock: &WallClock, device: &str, rate: u32| -> Result<()> {
        let wall = utc(clock.at(r.start_s()));
        let place = Place {
            device: Some(device.to_string()),
            utc: Some(wall.clone()),
            ..Place::default()
        };
        if let Some(line) = printer.line(r, rate, &place, &wall, args.presence) {
            status.suspend(|| report::print_line(&line))?;
        }
        Ok(())
    };
    let tally = |r: &Report, count: &mut u64, confirmed: &mut u64| match r {
        Report::Found(_) => *count += 1,
        Report::Verdict(v) => *confirmed += v.presence.present as u64,
        Report::Colliding(_) | Report::Transplanted(_) => {}
    };
    run_input(args.host.choice, args.device.as_deref(), &stop, |event| {
        match event {
            InputEvent::Started { capture, reopened } => {
                device = capture.name.clone();
                dev_rate = capture.chosen.rate();
                let (rate, ch) = (capture.chosen.rate(), capture.chosen.channels());
                for n in start_live(&mut scanner, &search, rate, ch, &mut found)? {
                    ui::note(format!("{}: {n}", capture.name));
                }
                let verb = if reopened {
                    "listening again on"
                } else {
                    "listening on"
                };
                ui::note(format!(
                    "{verb} {} ({}, {}); Ctrl-C stops",
                    capture.name,
                    capture.host,
                    capture.chosen.describe()
                ));
            }
            InputEvent::Block(samples, arrival) => {
                if let Some(s) = scanner.as_mut() {
                    s.push(samples, &mut found)?;
                    clock = WallClock {
                        stream_s: s.position_s(),
                        wall: arrival,
                    };
                    if !status.is_hidden() {
                        status.set_message(format!(
                            "{device}: {} listened, {count} mark(s)",
                            ui::duration(s.position_s())
                        ));
                    }
                }
            }
            InputEvent::Gap(frames) => {
                if let Some(s) = scanner.as_mut() {
                    s.skip(frames, &mut found)?;
                }
            }
            InputEvent::Lost(reason) => {
                status.suspend(|| ui::warn(format!("{device}: {reason}; reopening it")));
            }
            InputEvent::Xruns(total) => {
                status.suspend(|| ui::warn(format!("{device}: xrun (audio lost), {total} so far")));
            }
        }
        for f in found.drain(..) {
            tally(&f, &mut count, &mut confirmed);
            print(&f, &clock, &device, dev_rate)?;
        }
        Ok(())
    })?;
    if let Some(s) = scanner.as_mut() {
        s.finish(&mut found)?;
        for f in found.drain(..) {
            tally(&f, &mut count, &mut confirmed);
            print(&f, &clock, &device, dev_rate)?;
        }
    }
    status.finish_and_clear();
    let seconds = match confirmed {
        0 => String::new(),
        n => format!(", present in {n} robust second(s)"),
    };
    ui::note(format!("{device}: {count} mark(s) found{seconds}"));
    Ok(if count + confirmed > 0 {
        Outcome::Success
    } else {
        Outcome::NothingFound
    })
}
