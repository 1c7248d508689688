//! Real recorded programme: 30 s clips from Debian's free content packages
//! (Debian main), fetched with `apt-get download`, unpacked with
//! `dpkg-deb -x` and cut to 48 kHz mono 16-bit WAV by ffmpeg, all under one
//! cache directory. Idempotent: what is there is reused.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::RATE;

/// Seconds per clip.
pub const CLIP_SECONDS: f32 = 30.0;

/// Where a clip's audio comes from inside its package.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// One file.
    File(&'static str),
    /// Every `.ogg` file of a directory, in name order, back to back.
    Concat(&'static str),
}

/// One clip: a package (pinned to the version measured), a file in it and
/// where the clip starts.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub genre: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    pub source: Source,
    pub offset_s: f32,
}

/// The clips, in report order.
pub const CLIPS: [Spec; 10] = [
    Spec {
        name: "frozen-bubble",
        genre: "pop/rock, loud master",
        package: "frozen-bubble-data",
        version: "2.212-11",
        source: Source::File("usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg"),
        offset_s: 60.0,
    },
    Spec {
        name: "hw-rock",
        genre: "rock, loud master",
        package: "hedgewars-data",
        version: "1.0.2-6",
        source: Source::File("usr/share/games/hedgewars/Data/Music/Rock.ogg"),
        offset_s: 60.0,
    },
    Spec {
        name: "techbattle",
        genre: "electronic, loud master",
        package: "freedroidrpg-data",
        version: "1.0-1",
        source: Source::File("usr/share/freedroidrpg/data/sound/music/TechBattle.ogg"),
        offset_s: 30.0,
    },
    Spec {
        name: "elvish-theme",
        genre: "orchestral",
        package: "wesnoth-1.16-music",
        version: "1:1.16.9-1",
        source: Source::File("usr/share/games/wesnoth/1.16/data/core/music/elvish-theme.ogg"),
        offset_s: 60.0,
    },
    Spec {
        name: "nunc-dimittis",
        genre: "choral/orchestral",
        package: "wesnoth-1.16-music",
        version: "1:1.16.9-1",
        source: Source::File("usr/share/games/wesnoth/1.16/data/core/music/nunc_dimittis.ogg"),
        offset_s: 30.0,
    },
    Spec {
        name: "sad",
        genre: "quiet orchestral",
        package: "wesnoth-1.16-music",
        version: "1:1.16.9-1",
        source: Source::File("usr/share/games/wesnoth/1.16/data/core/music/sad.ogg"),
        offset_s: 10.0,
    },
    Spec {
        name: "city-blues",
        genre: "blues/jazz",
        package: "lincity-ng-data",
        version: "2.9~git20150314-5",
        source: Source::File(
            "usr/share/games/lincity-ng/music/default/02 - Robert van Herk - City Blues.ogg",
        ),
        offset_s: 60.0,
    },
    Spec {
        name: "fdrpg-ambience",
        genre: "ambience (game score)",
        package: "freedroidrpg-data",
        version: "1.0-1",
        source: Source::File("usr/share/freedroidrpg/data/sound/music/Ambience.ogg"),
        offset_s: 30.0,
    },
    Spec {
        name: "hw-nature",
        genre: "ambience (nature)",
        package: "hedgewars-data",
        version: "1.0.2-6",
        source: Source::File("usr/share/games/hedgewars/Data/Music/Nature.ogg"),
        offset_s: 30.0,
    },
    Spec {
        name: "speech-en",
        genre: "speech (recorded words, English)",
        package: "ktuberling-data",
        version: "4:22.12.3-1",
        source: Source::Concat("usr/share/ktuberling/sounds/en"),
        offset_s: 0.0,
    },
];

impl Spec {
    /// The file (or files) as the report names them.
    pub fn file(&self) -> String {
        match self.source {
            Source::File(f) => format!("/{f}"),
            Source::Concat(d) => format!("/{d}/*.ogg, in name order"),
        }
    }
}

/// A clip, loaded.
#[derive(Debug, Clone)]
pub struct Clip {
    pub spec: Spec,
    /// Mono at [`RATE`], [`CLIP_SECONDS`] long.
    pub samples: Vec<f32>,
}

/// Fetch (if needed) and load `specs` from `cache`.
pub fn load(cache: &Path, specs: &[Spec]) -> Result<Vec<Clip>, String> {
    // Every path under it absolute: tools resolve relative ones elsewhere
    // (ffmpeg takes a concat list's entries from the list's directory).
    let cache = &std::path::absolute(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    specs
        .iter()
        .map(|s| {
            let wav = clip_wav(cache, s)?;
            let mut samples =
                testkit::wav::read_mono(&wav).map_err(|e| format!("{}: {e}", wav.display()))?;
            // ffmpeg's concat demuxer can overshoot `-t` a little.
            samples.truncate((CLIP_SECONDS * RATE as f32) as usize);
            Ok(Clip { spec: *s, samples })
        })
        .collect()
}

/// The clip's WAV, made if missing.
fn clip_wav(cache: &Path, s: &Spec) -> Result<PathBuf, String> {
    let clips = cache.join("clips");
    mkdir(&clips)?;
    let wav = clips.join(format!("{}.wav", s.name));
    if wav.exists() {
        return Ok(wav);
    }
    let root = unpacked(cache, s.package, s.version)?;
    let tmp = clips.join(format!("{}.part.wav", s.name));
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-y", "-v", "error"]);
    match s.source {
        Source::File(f) => {
            c.args(["-ss", &s.offset_s.to_string()])
                .arg("-i")
                .arg(root.join(f));
        }
        Source::Concat(d) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(d))
                .map_err(|e| format!("{}: {e}", root.join(d).display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "ogg"))
                .collect();
            files.sort();
            let list: String = files
                .iter()
                .map(|p| format!("file '{}'\n", p.display()))
                .collect();
            let list_path = clips.join(format!("{}.list", s.name));
            std::fs::write(&list_path, list)
                .map_err(|e| format!("{}: {e}", list_path.display()))?;
            c.args(["-f", "concat", "-safe", "0"])
                .arg("-i")
                .arg(&list_path)
                .args(["-ss", &s.offset_s.to_string()]);
        }
    }
    c.args(["-t", &CLIP_SECONDS.to_string(), "-ac", "1"])
        .args(["-ar", &RATE.to_string(), "-c:a", "pcm_s16le"])
        .arg(&tmp);
    run(&mut c)?;
    std::fs::rename(&tmp, &wav).map_err(|e| format!("{}: {e}", wav.display()))?;
    Ok(wav)
}

/// `package`'s files, downloaded and unpacked if missing.
fn unpacked(cache: &Path, package: &str, version: &str) -> Result<PathBuf, String> {
    let dir = cache.join("unpacked").join(package);
    let done = dir.join(".unpacked");
    if done.exists() {
        return Ok(dir);
    }
    let debs = cache.join("debs");
    mkdir(&debs)?;
    let deb = debs.join(format!("{package}_{}_all.deb", version.replace(':', "%3a")));
    if !deb.exists() {
        eprintln!("programme: apt-get download {package}={version}");
        run(Command::new("apt-get")
            .current_dir(&debs)
            .args(["download", "-q"])
            .arg(format!("{package}={version}")))
        .map_err(|e| {
            format!("{e}\n(the clips are pinned to Debian 12 packages; `apt-get update` first, or add bookworm to the sources)")
        })?;
        if !deb.exists() {
            return Err(format!("apt-get download did not write {}", deb.display()));
        }
    }
    mkdir(&dir)?;
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&dir))?;
    std::fs::write(&done, version).map_err(|e| format!("{}: {e}", done.display()))?;
    Ok(dir)
}

fn mkdir(p: &Path) -> Result<(), String> {
    std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn run(c: &mut Command) -> Result<(), String> {
    let program = c.get_program().to_string_lossy().into_owned();
    let out = c
        .output()
        .map_err(|e| format!("cannot run {program}: {e} (install it: cargo xtask setup)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
