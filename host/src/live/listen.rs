//! `hushmark listen`: capture from an input device and print bursts as they
//! are found, with wall-clock times.

use std::time::SystemTime;

use anyhow::Result;

use super::{run_input, InputEvent};
use crate::airing::{utc, WallClock};
use crate::cli::ListenArgs;
use crate::report::{self, Printer};
use crate::scan::{start_live, Found, Scanner};
use crate::{key, ui, Outcome};

pub fn run(args: &ListenArgs) -> Result<Outcome> {
    let key = key::load(&args.key.key)?;
    let profiles = args.search.profiles();
    let stop = ui::stop_after(args.duration)?;
    let status = crate::progress::status_line();
    let mut scanner: Option<Scanner> = None;
    let mut device = String::from("?");
    let mut clock = WallClock {
        stream_s: 0.0,
        wall: SystemTime::now(),
    };
    let mut found: Vec<Found> = Vec::new();
    let mut count = 0u64;
    let mut dev_rate = 0u32;
    let mut printer = Printer::new(args.json, "UTC");
    let mut print = |f: &Found, clock: &WallClock, device: &str, rate: u32| -> Result<()> {
        let wall = utc(clock.at(f.start_s));
        let place = |r: &mut report::DetectionRecord| {
            r.device = Some(device.to_string());
            r.utc = Some(wall.clone());
        };
        let line = printer.line(f, rate, place, &wall);
        status.suspend(|| report::print_line(&line))?;
        Ok(())
    };
    run_input(args.host.choice, args.device.as_deref(), &stop, |event| {
        match event {
            InputEvent::Started { capture, reopened } => {
                device = capture.name.clone();
                dev_rate = capture.chosen.rate();
                let (rate, ch) = (capture.chosen.rate(), capture.chosen.channels());
                for n in start_live(&mut scanner, key, &profiles, rate, ch, &mut found)? {
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
                            "{device}: {} listened, {count} burst(s)",
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
            count += 1;
            print(&f, &clock, &device, dev_rate)?;
        }
        Ok(())
    })?;
    if let Some(s) = scanner.as_mut() {
        s.finish(&mut found)?;
        for f in found.drain(..) {
            count += 1;
            print(&f, &clock, &device, dev_rate)?;
        }
    }
    status.finish_and_clear();
    ui::note(format!("{device}: {count} burst(s) found"));
    Ok(if count > 0 {
        Outcome::Success
    } else {
        Outcome::NothingFound
    })
}
