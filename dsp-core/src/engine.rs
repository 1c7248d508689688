//! One embedder and one detector for both layers: what a set-top box and a
//! monitoring agent run. [`EmbedConfig::profiles`] and
//! [`DetectConfig::profiles`] say which layers; each layer keeps its own
//! engine ([`ultrasonic`](crate::ultrasonic), [`robust`](crate::robust)).
//!
//! * **Embedding both layers.** The robust embedder runs first (it delays
//!   the stream by its [`latency`](Embedder::latency)); the ultrasonic
//!   embedder then marks the delayed stream on the output's own clock, so
//!   its bursts fall where its schedule says in the output.
//! * **Detecting both layers.** Both detectors read every frame and report
//!   through one callback; each [`Detection`](crate::Detection) names its
//!   profile.
//! * **The robust layer vouches for a burst's programme.** With
//!   [`check_binding`](DetectConfig::check_binding) on, an ultrasonic burst
//!   whose programme fingerprint disagrees waits for the robust layer's word
//!   on its ID ([`vouch`](crate::vouch)) before it is reported as a
//!   detection or a transplant.

use crate::config::{DetectConfig, EmbedConfig};
use crate::error::{ConfigError, ProcessError};
use crate::event::{Event, Transplant};
use crate::sample::Sample;
use crate::vouch::Vouching;
use crate::{robust, ultrasonic};

/// Embeds the layers an [`EmbedConfig`] asks for. Can be built in place
/// ([`unconfigured`](Embedder::unconfigured) then
/// [`configure`](Embedder::configure)): the robust layer's state is 24 KiB.
#[derive(Debug, Clone)]
pub struct Embedder {
    config: EmbedConfig,
    ultrasonic: ultrasonic::Embedder,
    run_ultrasonic: bool,
    robust: robust::Embedder,
    run_robust: bool,
}

impl Embedder {
    /// An embedder that must be configured before use; `const` and all zero.
    pub const fn unconfigured() -> Embedder {
        Embedder {
            config: EmbedConfig::UNCONFIGURED,
            ultrasonic: ultrasonic::Embedder::unconfigured(),
            run_ultrasonic: false,
            robust: robust::Embedder::unconfigured(),
            run_robust: false,
        }
    }

    /// A configured embedder, or why the configuration cannot run.
    pub fn new(config: &EmbedConfig) -> Result<Embedder, ConfigError> {
        let mut e = Embedder::unconfigured();
        e.configure(config)?;
        Ok(e)
    }

    /// (Re)configure in place for a new stream; all state is forgotten. On
    /// error nothing changes.
    pub fn configure(&mut self, config: &EmbedConfig) -> Result<(), ConfigError> {
        config.profiles.check(config.sample_rate)?;
        let robust = config.profiles.robust();
        if robust {
            robust::Embedder::check(config)?;
        }
        // In place: each layer checks everything before it changes anything.
        let ultrasonic = config.profiles.ultrasonic().is_some();
        if ultrasonic {
            self.ultrasonic.configure(config)?;
        }
        if robust {
            self.robust.configure(config)?;
        }
        self.config = *config;
        self.run_ultrasonic = ultrasonic;
        self.run_robust = robust;
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> &EmbedConfig {
        &self.config
    }

    /// Output sample n is input sample n − latency, plus the marks: the
    /// robust layer's look-ahead and the ultrasonic limiter's, in turn.
    pub fn latency(&self) -> u64 {
        self.robust_latency() + self.ultrasonic().map_or(0, |u| u.latency())
    }

    fn robust_latency(&self) -> u64 {
        self.robust().map_or(0, |r| r.latency())
    }

    /// The ultrasonic layer's embedder, if it runs.
    pub fn ultrasonic(&self) -> Option<&ultrasonic::Embedder> {
        self.run_ultrasonic.then_some(&self.ultrasonic)
    }

    /// The ultrasonic layer's embedder, mutably (to set a stream end).
    pub fn ultrasonic_mut(&mut self) -> Option<&mut ultrasonic::Embedder> {
        self.run_ultrasonic.then_some(&mut self.ultrasonic)
    }

    /// The robust layer's embedder, if it runs.
    pub fn robust(&self) -> Option<&robust::Embedder> {
        self.run_robust.then_some(&self.robust)
    }

    /// Mark `frames` (interleaved) in place; `now` is the sample index of
    /// the first input frame. With the robust layer the output is delayed
    /// by [`latency`](Embedder::latency).
    pub fn process<S: Sample>(&mut self, now: u64, frames: &mut [S]) -> Result<(), ProcessError> {
        let ch = self.config.channels as usize;
        if ch == 0 {
            return Err(ProcessError::Unconfigured);
        }
        if frames.len() % ch != 0 {
            return Err(ProcessError::PartialFrame {
                len: frames.len(),
                channels: self.config.channels,
            });
        }
        if self.run_robust {
            self.robust.process(now, frames)?;
        }
        let latency = self.robust_latency();
        if self.run_ultrasonic {
            let u = &mut self.ultrasonic;
            // The frames now hold the robust output's stream time now −
            // latency; the first `before` of them precede the stream (silence).
            let n = (frames.len() / ch) as u64;
            let before = latency.saturating_sub(now);
            if before < n {
                u.process(now + before - latency, &mut frames[before as usize * ch..])?;
            }
        }
        Ok(())
    }

    /// Like [`Embedder::process`], reading `input` and writing `output`.
    pub fn process_into<S: Sample>(
        &mut self,
        now: u64,
        input: &[S],
        output: &mut [S],
    ) -> Result<(), ProcessError> {
        if input.len() != output.len() {
            return Err(ProcessError::OutputLength {
                expected: input.len(),
                actual: output.len(),
            });
        }
        output.copy_from_slice(input);
        self.process(now, output)
    }
}

/// Detects the layers a [`DetectConfig`] asks for. `const` and all-zero
/// when unconfigured, so a `static` of it lands in `.bss`.
#[derive(Debug, Clone)]
pub struct Detector {
    ultrasonic: ultrasonic::Detector,
    robust: robust::Detector,
    run_ultrasonic: bool,
    run_robust: bool,
    /// Both layers run and bindings are checked: bursts wait for the robust
    /// layer's word.
    vouching: bool,
    held: Vouching<Transplant>,
}

impl Detector {
    /// A detector that must be [`configure`](Detector::configure)d before use.
    pub const fn unconfigured() -> Detector {
        Detector {
            ultrasonic: ultrasonic::Detector::unconfigured(),
            robust: robust::Detector::unconfigured(),
            run_ultrasonic: false,
            run_robust: false,
            vouching: false,
            held: Vouching::new(),
        }
    }

    /// A configured detector, or why the configuration cannot run.
    pub fn new(config: &DetectConfig) -> Result<Detector, ConfigError> {
        let mut d = Detector::unconfigured();
        d.configure(config)?;
        Ok(d)
    }

    /// (Re)configure in place and forget all state. On error nothing changes.
    pub fn configure(&mut self, config: &DetectConfig) -> Result<(), ConfigError> {
        config.profiles.check(config.sample_rate)?;
        let (u, r) = (
            config.profiles.ultrasonic().is_some(),
            config.profiles.robust(),
        );
        // Check both before changing either, so an error changes nothing.
        if r {
            robust::Detector::check(config)?;
        }
        if u {
            self.ultrasonic.configure(config)?;
        }
        if r {
            self.robust.configure(config)?;
        }
        self.run_ultrasonic = u;
        self.run_robust = r;
        self.vouching = u && r && config.check_binding;
        self.held
            .configure(robust::STREAM_RATE, self.robust.latency_samples());
        Ok(())
    }

    /// The ultrasonic layer's detector (configured if it runs).
    pub fn ultrasonic(&self) -> Option<&ultrasonic::Detector> {
        self.run_ultrasonic.then_some(&self.ultrasonic)
    }

    /// The robust layer's detector, if it runs.
    pub fn robust(&self) -> Option<&robust::Detector> {
        self.run_robust.then_some(&self.robust)
    }

    /// The robust layer's detector, mutably (to expect known IDs).
    pub fn robust_mut(&mut self) -> Option<&mut robust::Detector> {
        self.run_robust.then_some(&mut self.robust)
    }

    /// Worst-case samples between the end of a mark and its report, over
    /// the layers that run (a held burst's included).
    pub fn latency_samples(&self) -> u64 {
        let u = self.ultrasonic().map_or(0, |u| u.latency_samples());
        let r = self.robust().map_or(0, |r| r.latency_samples());
        u.max(r).max(self.hold_samples())
    }

    /// How long after its end a burst whose fingerprint disagreed can be
    /// held for the robust layer's word ([`vouch`](crate::vouch); 0 unless
    /// both layers run and bindings are checked).
    pub fn hold_samples(&self) -> u64 {
        if self.vouching {
            self.held.hold_samples()
        } else {
            0
        }
    }

    /// Consume interleaved frames; `now` is the sample index of the first.
    /// Calls `on_event` for each detection, confirmation and collision, from
    /// any layer.
    pub fn process<S: Sample>(
        &mut self,
        now: u64,
        frames: &[S],
        mut on_event: impl FnMut(&Event),
    ) -> Result<(), ProcessError> {
        if !self.run_ultrasonic && !self.run_robust {
            return Err(ProcessError::Unconfigured);
        }
        // One path whether or not bursts are held, so each layer's
        // detector is built once for the callback (flash).
        let (vouching, phy) = (self.vouching, *self.ultrasonic.phy());
        let held = &mut self.held;
        if self.run_ultrasonic {
            self.ultrasonic.process(now, frames, |e| {
                from_ultrasonic(e, vouching, &phy, held, &mut on_event)
            })?;
        }
        if self.run_robust {
            held.expect_held(&mut self.robust);
            self.robust.process(now, frames, |e| {
                from_robust(e, vouching, held, &mut on_event)
            })?;
        }
        if vouching {
            let ch = self.ultrasonic.config().channels as usize;
            let end = now + (frames.len() / ch.max(1)) as u64;
            release(held, Some(end), &mut on_event);
        }
        Ok(())
    }

    /// End of stream: every layer decodes what it still holds, and held
    /// bursts get their verdict.
    pub fn finish(&mut self, mut on_event: impl FnMut(&Event)) {
        let (vouching, phy) = (self.vouching, *self.ultrasonic.phy());
        let held = &mut self.held;
        if self.run_ultrasonic {
            self.ultrasonic
                .finish(|e| from_ultrasonic(e, vouching, &phy, held, &mut on_event));
        }
        if self.run_robust {
            held.expect_held(&mut self.robust);
            self.robust
                .finish(|e| from_robust(e, vouching, held, &mut on_event));
        }
        if vouching {
            release(held, None, &mut on_event);
        }
    }
}

/// An ultrasonic event: passed on, or (vouching) a disagreeing burst held
/// for the robust layer's word.
fn from_ultrasonic(
    e: &Event,
    vouching: bool,
    phy: &crate::config::Phy,
    held: &mut Vouching<Transplant>,
    on_event: &mut impl FnMut(&Event),
) {
    match e {
        Event::Transplant(t) if vouching => {
            let d = &t.detection;
            let end = d.start_sample + phy.burst_samples(d.id.class());
            if let Some(old) = held.hold(*t, d.id, d.start_sample, end) {
                on_event(&Event::Transplant(old));
            }
        }
        other => on_event(other),
    }
}

/// A robust event: passed on; (vouching) a report of an ID's presence
/// vouches for held bursts near it.
fn from_robust(
    e: &Event,
    vouching: bool,
    held: &mut Vouching<Transplant>,
    on_event: &mut impl FnMut(&Event),
) {
    if vouching {
        held.vouch_for(e);
    }
    on_event(e);
}

/// Report the held bursts whose wait is over at stream sample `now` (all of
/// them at the end of the stream, `None`).
fn release(held: &mut Vouching<Transplant>, now: Option<u64>, on_event: &mut impl FnMut(&Event)) {
    held.release(now, |t, vouched| {
        on_event(&if vouched {
            Event::Detection(t.detection)
        } else {
            Event::Transplant(t)
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Id, Key, Profiles};

    #[test]
    fn both_layers_take_blocks_shorter_than_the_latency() {
        let mut config = EmbedConfig::new(Id::new(&[0x2a]).unwrap(), Key::PUBLIC_TEST);
        config.channels = 1;
        config.profiles = "ultrasonic+robust".parse::<Profiles>().unwrap();
        let mut e = Embedder::new(&config).unwrap();
        let mut block = [0.1f32; 256];
        for k in 0..400u64 {
            e.process(k * 256, &mut block).unwrap();
        }
        assert!(e.ultrasonic().unwrap().stats().completed >= 1);
    }
}
