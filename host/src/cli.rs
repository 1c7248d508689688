//! The command line: every subcommand, its options and its examples.
//!
//! Parsing only; each subcommand's behaviour lives in its own module. What
//! the engine defines, the command line takes from it: profile names and
//! their list come from [`Profile::ALL`] and [`Profile::name`] through one
//! mapping ([`ProfileArg`], one name), read as a [`ProfileSet`] (names
//! joined with `+`): for marking at most one ultrasonic band and/or
//! `robust`, for searching any set or `all`. Defaults are the engine's
//! constants. A profile added to the engine appears here with no change
//! beyond its help text.

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use dsp_core::config::DEFAULT_INTERVAL_MS;
use dsp_core::robust::DEFAULT_MMR_DB;
use dsp_core::{ConfigError, Layer, Profile, Profiles, DEFAULT_LEVEL_DBFS};

#[derive(Debug, Parser)]
#[command(
    name = "hushmark",
    version,
    about = "Hide a keyed transaction ID in audio above 20 kHz, and find it again",
    long_about = "Hide a keyed transaction ID in audio above 20 kHz, and find it again.\n\n\
        The ID names a transaction (a 20-byte contract address or a shorter opaque number), \
        never a person. Only holders of the secret key can read a mark or make one. \
        Logs hold IDs and times, never audio.",
    after_help = "Start with `hushmark demo`, then `hushmark keygen my.key`.\n\
        Exit status: 0 success (detect/listen: something found), 1 nothing found, 2 error, 130 interrupted.",
    propagate_version = true
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, display_order = 900)]
    pub verbose: u8,
    /// Only errors on stderr: no notes, warnings, progress or status line.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        display_order = 901
    )]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Keygen(KeygenArgs),
    Embed(EmbedArgs),
    Detect(DetectArgs),
    Monitor(Box<MonitorArgs>),
    Listen(ListenArgs),
    Play(PlayArgs),
    Passthrough(PassthroughArgs),
    Devices(DevicesArgs),
    Inspect(InspectArgs),
    Demo(DemoArgs),
    Airings(AiringsArgs),
    Bench(BenchArgs),
}

/// The fleet's as-aired log: every agent's airings from NATS, merged (or one agent's log file).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark airings --from nats://broker:4222 --since 2024-05-01T00:00:00Z --until 2024-05-02T00:00:00Z
  hushmark airings --from nats://broker:4222 --since 24h --id 2a --csv > day.csv
  hushmark airings --from aired.jsonl --stream news --json

Airings that overlap --since..--until are printed in time order. Exit status:
0 if any airing matched, 1 if none, 2 on error.")]
pub struct AiringsArgs {
    /// nats://HOST:PORT or tls://HOST:PORT (JetStream), or a monitor log file (JSON lines).
    #[arg(long, value_name = "SOURCE")]
    pub from: String,
    /// Only airings that end at or after this time (RFC 3339, or a span back from now: 2h).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only airings that start at or before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this stream.
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,
    /// Only this ID (hex).
    #[arg(long, value_name = "HEX")]
    pub id: Option<String>,
    /// One JSON object per line.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV with a header line.
    #[arg(long)]
    pub csv: bool,
    /// NATS credentials file (.creds).
    #[arg(long, value_name = "FILE")]
    pub nats_creds: Option<PathBuf>,
    /// CA certificate (PEM) for a TLS broker.
    #[arg(long, value_name = "FILE")]
    pub nats_ca: Option<PathBuf>,
}

/// Speed on this machine, like `openssl speed`: embed and detect per profile, and how many live streams fit.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark bench
  hushmark bench --json
  hushmark bench --streams 64 --seconds 60

Without --streams: times real time per core for embedding (48 kHz stereo) and
detection (48 kHz stereo, mixed to mono as monitor does) for every profile and
ultrasonic+robust, and the live 48 kHz streams this machine can monitor at
80 % of its cores. With --streams N: N paced sources of marked 48 kHz stereo run
through monitor's scanner for --seconds, and the CPU share, peak RSS and how
late detections come after the audio are measured.")]
pub struct BenchArgs {
    /// Run N live paced sources instead of the per-profile table.
    #[arg(long, value_name = "N")]
    pub streams: Option<usize>,
    /// Seconds per measurement (per profile; or of the live run) [default: 1, live: 30].
    #[arg(long, value_name = "SECONDS")]
    pub seconds: Option<f64>,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Make a new random secret key (file mode 0600; never overwrites).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark keygen station.key
  hushmark keygen /etc/hushmark/key

The file is two comment lines and 32 hex digits (128 bits). Anyone holding it
can read and forge marks: keep it private and back it up; marks made with a
lost key can never be read again.")]
pub struct KeygenArgs {
    /// Where to write the key. Must not exist yet.
    pub keyfile: PathBuf,
}

/// The secret key, shared by every subcommand that reads or makes marks.
#[derive(Debug, Args, Clone)]
pub struct KeyArg {
    /// Secret key file made by `hushmark keygen`.
    #[arg(short, long, value_name = "KEYFILE", env = "HUSHMARK_KEY_FILE")]
    pub key: PathBuf,
}

/// How and where bursts are placed (embed, play, passthrough).
#[derive(Debug, Args, Clone)]
pub struct MarkArgs {
    /// Transaction ID to hide: 1 to 20 bytes of hex, with or without 0x.
    #[arg(long, value_name = "HEX")]
    pub id: String,
    /// Seconds between burst starts (0.5 to 3600).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = DEFAULT_INTERVAL_MS as f64 / 1000.0,
        conflicts_with = "back_to_back",
        allow_negative_numbers = true
    )]
    pub interval: f64,
    /// Seconds before the first burst (0 to 3600).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub offset: f64,
    /// Send bursts one after another with no gap (most robust, least discreet).
    #[arg(long)]
    pub back_to_back: bool,
    /// The marks to make: one ultrasonic band and/or robust, joined with +
    /// (ultrasonic+robust is the set-top box's recommended setting).
    #[arg(
        long,
        value_name = "PROFILE",
        value_parser = ProfileSetParser::MARK,
        default_value_t
    )]
    pub profile: ProfileSet,
    /// Peak level of the ultrasonic mark in dBFS (-80 to -12).
    #[arg(long, value_name = "DBFS", default_value_t = DEFAULT_LEVEL_DBFS, allow_negative_numbers = true)]
    pub level: f32,
    /// Robust layer: the mark's level against the programme's masking
    /// threshold in dB (-20 to 0; higher is stronger and less hidden).
    #[arg(long, value_name = "DB", default_value_t = DEFAULT_MMR_DB, allow_negative_numbers = true)]
    pub robust_strength: f32,
}

/// The profile marks use and detectors search when none is named.
pub const DEFAULT_PROFILE: Profile = Profile::Ultrasonic;

/// What `--help` says about a profile; the names and the list itself come
/// from [`Profile::ALL`] and [`Profile::name`].
fn profile_help(profile: Profile) -> &'static str {
    match profile {
        Profile::Ultrasonic => {
            "20.0-21.6 kHz: inaudible; survives 44.1 kHz resampling and AAC at 256 kbit/s"
        }
        Profile::UltrasonicWide => {
            "20 kHz up to 0.46 x the sample rate: digital chains and 88.2/96 kHz systems"
        }
        Profile::NearUltrasonic => {
            "18.0-19.4 kHz: MP3 (lame) 256k and up 30/30 bursts, 192k 20-22/30, 128k and \
             -V2 0/30; Opus; some listeners can hear it"
        }
        Profile::Robust => {
            "344 Hz-7 kHz under the programme's masking threshold: survives MP3/AAC 128k, \
             Opus 64k, Vorbis, MP2, AC-3, E-AC-3; speed changes up to ±0.2 %, and ±2 % with detect --speed-search"
        }
    }
}

/// `--profile` when marking: one of the engine's profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileArg(pub Profile);

/// [`Profile::ALL`] as clap's choices.
static PROFILE_ARGS: [ProfileArg; Profile::ALL.len()] = {
    let mut args = [ProfileArg(DEFAULT_PROFILE); Profile::ALL.len()];
    let mut i = 0;
    while i < args.len() {
        args[i] = ProfileArg(Profile::ALL[i]);
        i += 1;
    }
    args
};

impl ValueEnum for ProfileArg {
    fn value_variants<'a>() -> &'a [Self] {
        &PROFILE_ARGS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(profile_help(self.0)))
    }
}

impl Default for ProfileArg {
    fn default() -> Self {
        ProfileArg(DEFAULT_PROFILE)
    }
}

impl fmt::Display for ProfileArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// `--profile`: a set of the engine's profiles, named one by one and
/// joined with `+` (`ultrasonic+robust`), or `all` when searching. Names
/// are looked up through [`ProfileArg`], so both read the same list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSet(Vec<Profile>);

impl ProfileSet {
    const ALL: &'static str = "all";

    /// The set as the engine's [`Profiles`].
    pub fn profiles(&self) -> Profiles {
        self.0.iter().fold(Profiles::NONE, |s, &p| s.with(p))
    }

    /// A set one embedder can make: at most one ultrasonic band.
    fn check_marking(&self) -> Result<(), String> {
        let mut bands = self.0.iter().filter(|p| p.layer() == Layer::Ultrasonic);
        if let (Some(&a), Some(&b)) = (bands.next(), bands.next()) {
            return Err(ConfigError::TwoBands { a, b }.to_string());
        }
        Ok(())
    }
}

impl Default for ProfileSet {
    fn default() -> Self {
        ProfileSet(vec![DEFAULT_PROFILE])
    }
}

impl fmt::Display for ProfileSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() == Profile::ALL.len() && self.0.len() > 1 {
            return f.write_str(ProfileSet::ALL);
        }
        let names: Vec<&str> = self.0.iter().map(|p| p.name()).collect();
        f.write_str(&names.join("+"))
    }
}

impl FromStr for ProfileSet {
    type Err = String;

    fn from_str(text: &str) -> Result<ProfileSet, String> {
        if text == ProfileSet::ALL {
            return Ok(ProfileSet(Profile::ALL.to_vec()));
        }
        let mut wanted = Vec::new();
        for name in text.split('+') {
            let ProfileArg(p) = ProfileArg::from_str(name, false).map_err(|_| {
                let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "no profile {name:?} (profiles: {}; join several with +, or say {})",
                    names.join(", "),
                    ProfileSet::ALL
                )
            })?;
            wanted.push(p);
        }
        Ok(ProfileSet(
            Profile::ALL
                .into_iter()
                .filter(|p| wanted.contains(p))
                .collect(),
        ))
    }
}

/// clap's side of [`ProfileSet`]: lists the choices in `--help`, parses
/// through [`FromStr`]; when marking, refuses `all` and a second band.
#[derive(Clone)]
struct ProfileSetParser {
    marking: bool,
}

impl ProfileSetParser {
    const MARK: ProfileSetParser = ProfileSetParser { marking: true };
    const SEARCH: ProfileSetParser = ProfileSetParser { marking: false };

    fn parse(&self, text: &str) -> Result<ProfileSet, String> {
        if self.marking && text == ProfileSet::ALL {
            return Err(format!(
                "a mark is made in named profiles, not {}: one ultrasonic band and/or robust, \
                 e.g. ultrasonic+robust",
                ProfileSet::ALL
            ));
        }
        let set: ProfileSet = text.parse()?;
        if self.marking {
            set.check_marking()?;
        }
        Ok(set)
    }
}

impl TypedValueParser for ProfileSetParser {
    type Value = ProfileSet;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<ProfileSet, clap::Error> {
        let text = value.to_str().unwrap_or("");
        self.parse(text).map_err(|why: String| {
            let arg = arg.map(|a| a.to_string()).unwrap_or_default();
            cmd.clone().error(
                ErrorKind::InvalidValue,
                format!("invalid value '{text}' for '{arg}': {why}"),
            )
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let all = PossibleValue::new(ProfileSet::ALL)
            .help("every profile the sample rate can carry (more CPU)");
        let all = (!self.marking).then_some(all);
        Some(Box::new(
            PROFILE_ARGS
                .iter()
                .filter_map(ValueEnum::to_possible_value)
                .chain(all),
        ))
    }
}

/// What a detector searches for (detect, monitor, listen, inspect).
#[derive(Debug, Args, Clone)]
pub struct SearchArg {
    /// Profiles to search: one, several joined with + (ultrasonic+robust), or all.
    #[arg(
        long = "profile",
        value_name = "PROFILE",
        value_parser = ProfileSetParser::SEARCH,
        default_value_t
    )]
    pub profiles: ProfileSet,
    /// Issued IDs to confirm second by second (robust layer): a file of one
    /// hex ID a line; # starts a comment.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// Also search copies played up to 2 % fast or slow (sox speed, tape,
    /// pitch-shifted re-uploads): 10 more detectors per profile, in 0.4 %
    /// steps; they report marks read, not presence.
    #[arg(long)]
    pub speed_search: bool,
    /// Check each ultrasonic burst against the programme it is heard in and
    /// report bursts whose band was lifted from another programme as
    /// TRANSPLANTED ("kind":"transplant"), never as an airing. On by default
    /// when the robust layer is searched too (it vouches for a burst whose
    /// programme a voice-over covered); off for ultrasonic profiles alone,
    /// where a voice-over louder than the programme reads as a transplant.
    #[arg(long, conflicts_with = "no_check_binding")]
    pub check_binding: bool,
    /// Never check bursts against their programme, even with both layers.
    #[arg(long)]
    pub no_check_binding: bool,
}

impl SearchArg {
    /// The profiles, in [`Profile::ALL`]'s order.
    pub fn profiles(&self) -> Vec<Profile> {
        self.profiles.0.clone()
    }

    /// Whether bursts are checked against their programme when `profiles`
    /// are searched: asked for, or by default where the robust layer is
    /// searched with an ultrasonic one.
    pub fn check_binding_for(&self, profiles: &[Profile]) -> bool {
        let both = profiles.contains(&Profile::Robust)
            && profiles.iter().any(|p| p.layer() == Layer::Ultrasonic);
        self.check_binding || (both && !self.no_check_binding)
    }
}

/// Mark an audio file.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark embed programme.flac marked.wav --key station.key \\
      --id 0xd8da6bf26964af9d7eed9e03e53415d37aa96045
  hushmark embed in.wav out.flac --id 2a --key station.key --interval 5 --offset 1
  hushmark embed in.mp3 out.wav --id 0102030405 --key station.key --profile near-ultrasonic
  hushmark embed in.flac out.flac --id 2a --key station.key --profile ultrasonic+robust

What each profile survives (measured): ultrasonic: FLAC, AAC 256/320k, Vorbis
256k, 44.1 kHz resampling, +-1000 ppm; MP3, Opus and AAC 128k cut it.
near-ultrasonic (audible to some): Opus, and MP3 (lame) by bit rate: 256k and
up 30/30 bursts, 192k 20-22/30, 128k and -V2 0/30. robust: MP3 and AAC
128k, Opus 64k, Vorbis, MP2, AC-3, E-AC-3; speed changes of +-0.2 %, and +-2 %
with detect --speed-search.
robust runs at 48 kHz (other rates: its mark is made on a 48 kHz copy and
resampled back) on mono or stereo files.

IN may be WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis or AIFF. OUT keeps IN's length, rate,
channels and alignment; outside ultrasonic bursts (and, with robust, where the
programme is silent) its samples are IN's, bit for bit. OUT is written to a
temporary file beside it and renamed when complete, so it is never
half-written; IN is never touched.")]
pub struct EmbedArgs {
    /// Audio to mark; `-` reads stdin (pipes and FIFOs are read whole first).
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Marked copy to write: .wav or .flac.
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub mark: MarkArgs,
    /// Sample format of OUT. Default: IN's bit depth (16 -> s16, 24 -> s24,
    /// float or lossy -> f32 for WAV, s24 for FLAC).
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Replace OUT if it exists (never IN).
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    /// 16-bit integer.
    S16,
    /// 24-bit integer.
    S24,
    /// 32-bit float (WAV only).
    F32,
}

/// Find marks in audio files.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark detect marked.wav --key station.key
  hushmark detect recordings/*.flac --key station.key --json > found.jsonl
  hushmark detect clip.mp3 --key station.key --profile near-ultrasonic
  hushmark detect aired.mp3 --key station.key --profile ultrasonic+robust
  hushmark detect aired.m4a --key station.key --profile robust --expect issued.txt --presence

Prints one row (or with --json one JSON object per line) per mark found:
file, id (lowercase hex), counter, start_s, end_s, confidence, snr_db, profile
and more. An ultrasonic row is a burst; a robust row is a period (2.05 s, or
1.28 s for IDs up to 8 bytes), its counter and start the period's.
confidence is the link margin from 0 (in-band SNR -10 dB, the weakest
decodable) to 1 (+10 dB or better); every reported ID has passed the key's
32-bit MAC whatever its confidence.
--expect names issued IDs the robust layer confirms every second even before
it decodes one; --presence prints those per-second verdicts (JSON: \"kind\":
\"presence\"), present or absent, for expected and decoded IDs.
Exit status: 0 if any mark was found, 1 if none, 2 if a file could not be read.")]
pub struct DetectArgs {
    /// Audio files (WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis, AIFF); `-` reads
    /// stdin, and pipes such as `<(ffmpeg -i in.mp4 -f wav -)` and FIFOs are
    /// read whole first.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub key: KeyArg,
    /// One JSON object per line per burst instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also print the robust layer's per-second presence of known IDs.
    #[arg(long)]
    pub presence: bool,
    #[command(flatten)]
    pub search: SearchArg,
}

/// The monitoring agent: log which IDs aired, and when, from files, stdin and devices.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark monitor --key station.key --device hw:1 --log aired.jsonl
  ffmpeg -i https://radio.example/stream -f f32le -ac 2 -ar 48000 - \\
      | hushmark monitor --key station.key --stdin --rate 48000 --channels 2 --format f32le
  hushmark monitor --key station.key --file day1.flac --file day2.flac \\
      --start-time 2024-05-01T06:00:00Z

  hushmark monitor --key station.key --url news=udp://@239.1.1.1:5000 \\
      --url http://radio.example/live --expect-mark news --publish nats://broker:4222
  hushmark monitor --config /etc/hushmark/site.toml

Writes one JSON line per airing: {\"stream\", \"id\", \"first_utc\", \"last_utc\",
\"first_s\", \"last_s\", \"bursts\", \"profile\", \"layers\", ...}. Consecutive
marks of one ID on one stream are one airing, whichever layers saw them
(--profile ultrasonic+robust searches both); the robust layer confirms a
known ID every second, so its airings start and end to the second. An airing
ends when the ID changes, when the robust layer finds the ID absent, or when
nothing of it comes for --gap seconds. Times are to 1 s: wall clock in UTC (RFC 3339) and stream time
in seconds since the source started. No audio is ever stored. Each source runs
in its own thread. Ctrl-C stops cleanly, writing every open airing first.

--url streams are decoded by an ffmpeg child each (HTTP/Icecast, HLS, MPEG-TS
over UDP, RTP, RTMP, RTSP, any file ffmpeg reads) and restarted with backoff
when they fail or stall; their outages are logged as {\"event\": \"stream_down\"}
and {\"event\": \"stream_up\"} lines, silence as \"silence\"/\"sound\", and an
expected mark that stops as \"mark_missing\"/\"mark_back\". With --publish every
line also goes to NATS JetStream under hushmark.<agent>.*, written ahead to
--spool so that an outage loses nothing.")]
pub struct MonitorArgs {
    /// Secret key file made by `hushmark keygen` (or `key` in --config).
    #[arg(short, long, value_name = "KEYFILE", env = "HUSHMARK_KEY_FILE")]
    pub key: Option<PathBuf>,
    /// Agent configuration (TOML): streams, expected marks, key, publishing.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stream read through ffmpeg, optionally named: NAME=URL (repeatable).
    #[arg(long = "url", value_name = "[NAME=]URL")]
    pub urls: Vec<String>,
    /// Raise mark_missing when STREAM (and with =ID, that ID) carries no mark
    /// for --missing-after seconds of programme (repeatable).
    #[arg(id = "expect_mark", long = "expect-mark", value_name = "STREAM[=ID]")]
    pub expect: Vec<String>,
    /// Seconds of programme audio without the expected mark before mark_missing [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub missing_after: Option<f64>,
    /// Programme level (below 8 kHz) under which audio is silence [default: -50].
    #[arg(long, value_name = "DBFS", allow_negative_numbers = true)]
    pub silence_db: Option<f64>,
    /// Seconds under --silence-db before a silence event [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub silence_after: Option<f64>,
    /// Seconds without audio after which a --url stream is restarted [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub stall: Option<f64>,
    /// The ffmpeg program for --url streams [default: ffmpeg].
    #[arg(long, value_name = "PATH", env = "HUSHMARK_FFMPEG")]
    pub ffmpeg: Option<String>,
    /// PCM format ffmpeg hands over for --url streams.
    #[arg(long, value_enum, default_value_t = RawFormat::F32le)]
    pub pcm: RawFormat,
    /// Publish airings and events to NATS JetStream: nats://HOST:PORT or tls://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub publish: Option<String>,
    /// NATS credentials file (.creds) for --publish.
    #[arg(long, value_name = "FILE")]
    pub nats_creds: Option<PathBuf>,
    /// CA certificate (PEM) for a TLS broker; implies TLS.
    #[arg(long, value_name = "FILE")]
    pub nats_ca: Option<PathBuf>,
    /// Write-ahead spool for --publish [default: $STATE_DIRECTORY/spool or ~/.local/state/hushmark/AGENT/spool].
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
    /// This agent's name on the bus [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,
    /// Seconds between heartbeats on the bus [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub heartbeat: Option<f64>,
    /// Audio file to scan (repeatable).
    #[arg(long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Input device to capture (repeatable; see `hushmark devices`). "default" is the default input.
    #[arg(long = "device", value_name = "NAME")]
    pub devices: Vec<String>,
    /// Read raw interleaved PCM from standard input.
    #[arg(long, requires = "rate")]
    pub stdin: bool,
    /// Sample rate of --stdin.
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// Channels of --stdin.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub channels: u16,
    /// Sample format of --stdin.
    #[arg(long, value_enum, default_value_t = RawFormat::F32le)]
    pub format: RawFormat,
    /// Append airings to this file (JSON lines) instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// Seconds without a burst that end an airing (at least 3 burst intervals) [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub gap: Option<f64>,
    /// Wall-clock time of the first sample of --file and --stdin sources (RFC
    /// 3339, e.g. 2024-05-01T06:00:00Z); later times follow the samples.
    /// Default: a file's modification time minus its length, when the length
    /// is known; stdin's first arrival; otherwise when scanning started.
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,
    #[command(flatten)]
    pub search: SearchArg,
    /// Stop after this many seconds (live sources); files and stdin stop at their end.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    #[command(flatten)]
    pub host: HostArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RawFormat {
    /// 32-bit float, little-endian (ffmpeg -f f32le).
    F32le,
    /// 16-bit signed integer, little-endian (ffmpeg -f s16le).
    S16le,
}

/// Which cpal audio host to use.
#[derive(Debug, Args, Clone)]
pub struct HostArg {
    /// Audio system: auto (PulseAudio/PipeWire if running, else ALSA), alsa or pulseaudio.
    #[arg(
        long = "host",
        value_enum,
        default_value_t,
        env = "HUSHMARK_AUDIO_HOST"
    )]
    pub choice: HostChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum HostChoice {
    #[default]
    Auto,
    Alsa,
    Pulseaudio,
}

/// Capture from an input device and print marks as they are found.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark listen --key station.key
  hushmark listen --key station.key --device hm_sink.monitor --json
  hushmark listen --key station.key --duration 60
  hushmark listen --key station.key --profile ultrasonic+robust --presence

Each row names the layer (profile) that found it. Runs until Ctrl-C (or
--duration). Exit status: 0 if any mark was found, 1 if none.")]
pub struct ListenArgs {
    /// Input device (see `hushmark devices`); default: the default input.
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    #[command(flatten)]
    pub key: KeyArg,
    /// One JSON object per line per burst instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also print the robust layer's per-second presence of known IDs.
    #[arg(long)]
    pub presence: bool,
    #[command(flatten)]
    pub search: SearchArg,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    #[command(flatten)]
    pub host: HostArg,
}

/// Play a file through an output device, marking it live (a desktop stand-in for a set-top box).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark play programme.flac --key station.key \\
      --id 0xd8da6bf26964af9d7eed9e03e53415d37aa96045
  hushmark play clip.wav --id 2a --key station.key --device hm_sink --interval 1

The mark is added in the output callback at the device's own sample clock,
as a set-top box would. Ctrl-C stops.")]
pub struct PlayArgs {
    /// Audio to play (WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis, AIFF).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub mark: MarkArgs,
    /// Output device (see `hushmark devices`); default: the default output.
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    #[command(flatten)]
    pub host: HostArg,
}

/// Line-in -> mark -> line-out in real time: the set-top box audio path.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark passthrough --input hw:1 --output hw:1 --id 2a --key station.key
  hushmark passthrough --input line_in.monitor --output speakers --id 0x0102 \\
      --key station.key --buffer-ms 40

Reports xruns (buffer under- and overruns) as they happen and the added
latency (capture + queue + playback) every 10 s and at the end. Ctrl-C stops.")]
pub struct PassthroughArgs {
    /// Input device.
    #[arg(long, value_name = "NAME")]
    pub input: String,
    /// Output device.
    #[arg(long, value_name = "NAME")]
    pub output: String,
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub mark: MarkArgs,
    /// Sample rate for both devices (44100, 48000, 88200 or 96000); default: the
    /// output's own rate if supported, else 48000.
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// Device buffer in milliseconds: lower means less latency and more risk of xruns.
    #[arg(long, value_name = "MS", default_value_t = 20)]
    pub buffer_ms: u32,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    #[command(flatten)]
    pub host: HostArg,
}

/// List audio inputs and outputs with their rates and channels.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark devices
  hushmark devices --host alsa

NAME (first column) is what --device, --input and --output take; a unique
part of a name or description also works.")]
pub struct DevicesArgs {
    /// Audio system to list: auto lists every one available.
    #[arg(
        long = "host",
        value_enum,
        default_value_t,
        env = "HUSHMARK_AUDIO_HOST"
    )]
    pub host: HostChoice,
}

/// Draw a spectrogram of 15-24 kHz with the bursts marked (and the robust layer's strength).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark inspect marked.wav --png marked.png
  hushmark inspect marked.wav --key station.key --png marked.png
  hushmark inspect marked.wav --key station.key --profile ultrasonic+robust --png marked.png

Without a key, bursts are found by their energy in the profile's band (dashed
boxes): anyone can see that something is there, nobody can read it. With the
key, each burst is decoded and labelled with its ID and counter. With robust
in --profile, a second panel shows 0.3-7 kHz, where that layer lives, and
under it the mark's strength frame by frame as the keyed detector measures
it (only the key can; without it the panel shows energy only).")]
pub struct InspectArgs {
    /// Audio to look at.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Secret key, to decode and label the bursts.
    #[arg(short, long, value_name = "KEYFILE", env = "HUSHMARK_KEY_FILE")]
    pub key: Option<PathBuf>,
    /// PNG to write.
    #[arg(long, value_name = "OUT.png")]
    pub png: PathBuf,
    #[command(flatten)]
    pub search: SearchArg,
    /// Replace OUT.png if it exists.
    #[arg(short, long)]
    pub force: bool,
}

/// The main job end to end on bundled audio: mark, detect, log, draw.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hushmark demo
  hushmark demo --out /tmp/hushmark-demo

Uses the public test key (000102...0f) and a bundled 8 s music clip; never use
that key for real content.")]
pub struct DemoArgs {
    /// Directory for the demo's files (created if missing).
    #[arg(long, value_name = "DIR", default_value = "out/demo")]
    pub out: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn profile_choices_are_the_engines() {
        let names: Vec<String> = ProfileArg::value_variants()
            .iter()
            .filter_map(|p| p.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        let engine: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(names, engine);
        assert_eq!(ProfileArg::default().0, DEFAULT_PROFILE);
        assert_eq!(ProfileSet::default().0, [DEFAULT_PROFILE]);
    }

    #[test]
    fn profile_sets_parse_one_several_or_all() {
        let set = |t: &str| t.parse::<ProfileSet>().map(|s| s.0);
        assert_eq!(set("ultrasonic").unwrap(), [Profile::Ultrasonic]);
        // Listed in the engine's order, each once, whatever order was typed.
        assert_eq!(
            set("near-ultrasonic+ultrasonic+near-ultrasonic").unwrap(),
            [Profile::Ultrasonic, Profile::NearUltrasonic]
        );
        assert_eq!(set("all").unwrap(), Profile::ALL);
        let e = set("ultrasonic+loud").unwrap_err();
        assert!(
            e.contains("no profile \"loud\"") && e.contains("ultrasonic-wide"),
            "{e}"
        );
        assert!(set("").is_err() && set("ultrasonic+").is_err());
        // Display gives back what parses to the same set.
        for text in ["ultrasonic", "ultrasonic+near-ultrasonic", "all"] {
            let s: ProfileSet = text.parse().unwrap();
            assert_eq!(s.to_string(), text);
        }
    }

    #[test]
    fn search_profiles_come_from_the_command_line() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["hushmark", "detect", "x.wav", "--key", "k"];
            args.extend(extra);
            match Cli::try_parse_from(args).map(|c| c.command) {
                Ok(Command::Detect(d)) => Ok(d.search.profiles()),
                Ok(_) => unreachable!("parsed as detect"),
                Err(e) => Err(e.to_string()),
            }
        };
        assert_eq!(parse(&[]).unwrap(), [DEFAULT_PROFILE]);
        assert_eq!(parse(&["--profile", "all"]).unwrap(), Profile::ALL);
        let e = parse(&["--profile", "loud"]).unwrap_err();
        assert!(e.contains("'--profile <PROFILE>'"), "{e}");
    }

    #[test]
    fn marking_profiles_take_one_band_and_or_robust() {
        let parse = |extra: &[&str]| {
            let mut args = vec![
                "hushmark", "embed", "a.wav", "b.wav", "--key", "k", "--id", "2a",
            ];
            args.extend(extra);
            match Cli::try_parse_from(args).map(|c| c.command) {
                Ok(Command::Embed(e)) => Ok((e.mark.profile.profiles(), e.mark.robust_strength)),
                Ok(_) => unreachable!("parsed as embed"),
                Err(e) => Err(e.to_string()),
            }
        };
        let (default, strength) = parse(&[]).unwrap();
        assert_eq!(default, Profiles::only(DEFAULT_PROFILE));
        assert_eq!(strength, DEFAULT_MMR_DB);
        for text in ["robust", "ultrasonic+robust", "near-ultrasonic+robust"] {
            let (p, _) = parse(&["--profile", text]).unwrap();
            assert_eq!(p.to_string(), text);
        }
        let e = parse(&["--profile", "ultrasonic+near-ultrasonic"]).unwrap_err();
        assert!(e.contains("both ultrasonic bands"), "{e}");
        let e = parse(&["--profile", "all"]).unwrap_err();
        assert!(e.contains("not all"), "{e}");
        let (_, strength) = parse(&["--robust-strength", "-10"]).unwrap();
        assert_eq!(strength, -10.0);
    }
}
