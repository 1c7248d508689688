//! # STM32F746G-DISCO (Cortex-M7F, 216 MHz)
//!
//! | | |
//! |---|---|
//! | memory | 1 MiB flash at 0x0800_0000; 320 KiB RAM (DTCM + SRAM1 + SRAM2) at 0x2000_0000 (`memory.x`) |
//! | clocks | 25 MHz crystal → PLL → 216 MHz core (overdrive on); PLLI2S → 49.14 MHz SAI2 kernel clock → MCLK 12.29 MHz = 256 × 47.99 kHz |
//! | audio | SAI2 block A → WM8994 DAC → HEADPHONE jack; LINE IN jack → WM8994 ADC → SAI2 block B; ring-buffered DMA (DMA2 streams 4 and 7); codec set up over I2C3 |
//! | stream | 48 kHz (47.99 kHz: −186 ppm, well inside the detector's ±1800 ppm), stereo, 16-bit, 240-frame blocks (5 ms) |
//! | logs | defmt over RTT through the on-board ST-LINK (`probe-rs run`) |
//!
//! LINE IN is marked with the board's ID on its way to the headphones (the
//! set-top-box path) and searched for marks (the monitoring path), in both
//! layers (`ultrasonic+robust`, the box's recommended setting). Every
//! ~10 s the board logs what each path cost in DWT cycles, so this is also
//! the benchmark on real silicon. Flashing: `firmware/README.md`.

#![no_std]
#![no_main]

mod sai_port;
mod wm8994;

use cortex_m_rt::entry;
use defmt_rtt as _;
use dsp_core::{DetectConfig, Detector, EmbedConfig, Embedder, Id, Key, Profile, Profiles};
use embassy_stm32::i2c::{self, I2c};
use embassy_stm32::rcc::{
    self, mux, Hse, HseMode, Pll, PllMul, PllPDiv, PllPreDiv, PllQDiv, PllSource, Sysclk,
};
use embassy_stm32::sai::{self, Sai};
use embassy_stm32::time::Hertz;
use embassy_stm32::{bind_interrupts, dma, peripherals};
use hushmark_firmware::meter::{DwtMeter, Meter};
use hushmark_firmware::{fault, report, Pipeline, RunStats};

use sai_port::{SaiPort, RING_SAMPLES};

pub const SAMPLE_RATE: u32 = 48_000;
pub const CHANNELS: u16 = 2;
pub const BLOCK_FRAMES: usize = 240;
const CORE_HZ: u32 = 216_000_000;
/// Periods between cost reports: 2000 × 5 ms = 10 s.
const REPORT_EVERY: u32 = 2000;

/// The board's key and ID. Real deployments provision these per device
/// (e.g. from OTP or a secure element); this is the public test-vector key.
const KEY: Key = Key::PUBLIC_TEST;
const ID: [u8; 8] = [0x00, 0x00, 0x00, 0x00, 0x07, 0x5b, 0xcd, 0x15];
/// Both layers: the ultrasonic band for clean paths, the robust layer for
/// codecs and rooms.
const PROFILES: Profiles = Profiles::only(Profile::Ultrasonic).with(Profile::Robust);

bind_interrupts!(struct Irqs {
    DMA2_STREAM4 => dma::InterruptHandler<peripherals::DMA2_CH4>;
    DMA2_STREAM7 => dma::InterruptHandler<peripherals::DMA2_CH7>;
});

fn clocks() -> embassy_stm32::Config {
    let mut config = embassy_stm32::Config::default();
    let rcc = &mut config.rcc;
    rcc.hse = Some(Hse {
        freq: Hertz(25_000_000),
        mode: HseMode::Oscillator,
    });
    rcc.pll_src = PllSource::HSE;
    // 25 MHz / 25 × 432 / 2 = 216 MHz core; / 9 = 48 MHz for USB.
    rcc.pll = Some(Pll {
        prediv: PllPreDiv::DIV25,
        mul: PllMul::MUL432,
        divp: Some(PllPDiv::DIV2),
        divq: Some(PllQDiv::DIV9),
        divr: None,
    });
    // 25 MHz / 25 × 344 / 7 = 49.142857 MHz SAI kernel clock (ST's choice for 48 kHz).
    rcc.plli2s = Some(Pll {
        prediv: PllPreDiv::DIV25,
        mul: PllMul::MUL344,
        divp: None,
        divq: Some(PllQDiv::DIV7),
        divr: Some(rcc::PllRDiv::DIV2),
    });
    rcc.mux.sai2sel = mux::Saisel::PLLI2S1_Q;
    rcc.sys = Sysclk::PLL1_P;
    rcc.ahb_pre = rcc::AHBPrescaler::DIV1;
    rcc.apb1_pre = rcc::APBPrescaler::DIV4;
    rcc.apb2_pre = rcc::APBPrescaler::DIV2;
    config
}

/// I2S framing for the WM8994: 16-bit words in 32-bit slots, two slots,
/// frame sync low for the left slot, one bit clock before the MSB.
fn sai_config(tx: bool) -> sai::Config {
    let mut c = sai::Config::default();
    c.tx_rx = if tx {
        sai::TxRx::Transmitter
    } else {
        sai::TxRx::Receiver
    };
    c.data_size = sai::DataSize::Data16;
    c.slot_size = sai::SlotSize::Channel32;
    c.slot_count = embassy_stm32::dma::word::U4(2);
    c.slot_enable = 0b11;
    c.frame_length = 64;
    c.frame_sync_active_level_length = embassy_stm32::dma::word::U7(32);
    c.frame_sync_definition = sai::FrameSyncDefinition::ChannelIdentification;
    c.frame_sync_polarity = sai::FrameSyncPolarity::ActiveLow;
    c.frame_sync_offset = sai::FrameSyncOffset::BeforeFirstBit;
    c.bit_order = sai::BitOrder::MsbFirst;
    c.clock_strobe = if tx {
        sai::ClockStrobe::Falling
    } else {
        sai::ClockStrobe::Rising
    };
    // 49.142857 MHz / 4 = 12.2857 MHz MCLK = 256 × fs.
    c.master_clock_divider = sai::MasterClockDivider::DIV4;
    c
}

/// Millisecond pauses for the codec's start-up sequence, from the core clock.
struct CycleDelay;

impl embedded_hal::delay::DelayNs for CycleDelay {
    fn delay_ns(&mut self, ns: u32) {
        let cycles = (u64::from(ns) * u64::from(CORE_HZ) / 1_000_000_000) as u32;
        cortex_m::asm::delay(cycles.max(1));
    }
}

#[entry]
fn main() -> ! {
    // DMA rings and the engines live in statics (cortex-m-rt hands out
    // `&'static mut` to each, once): the engines' 150 KiB never pass
    // through the stack.
    static mut TX_RING: [u16; RING_SAMPLES] = [0; RING_SAMPLES];
    static mut RX_RING: [u16; RING_SAMPLES] = [0; RING_SAMPLES];
    static mut EMBEDDER: Embedder = Embedder::unconfigured();
    static mut DETECTOR: Detector = Detector::unconfigured();

    let Some(mut core) = cortex_m::Peripherals::take() else {
        fault::exit(false)
    };
    // Instructions from flash through the I-cache; the D-cache stays off so
    // the DMA rings need no cache maintenance.
    core.SCB.enable_icache();
    let meter = DwtMeter::start(&mut core.DCB, &mut core.DWT);
    let p = embassy_stm32::init(clocks());
    defmt::info!(
        "hushmark on STM32F746G-DISCO: SAI2 + WM8994, {} Hz, {} frames per block",
        SAMPLE_RATE,
        BLOCK_FRAMES
    );

    // SAI2: A is the master transmitter (and MCLK), B the synchronous receiver.
    let (sub_a, sub_b) = sai::split_subblocks(p.SAI2);
    let tx = Sai::new_asynchronous_with_mclk(
        sub_a,
        p.PI5,
        p.PI6,
        p.PI7,
        p.PI4,
        p.DMA2_CH4,
        TX_RING,
        Irqs,
        sai_config(true),
    );
    let rx = Sai::new_synchronous(sub_b, p.PG10, p.DMA2_CH7, RX_RING, Irqs, sai_config(false));

    // The codec needs MCLK, which the enabled master block already drives;
    // configure it before the DMA rings start, so they do not overrun during
    // its ~650 ms start-up.
    let i2c = I2c::new_blocking(p.I2C3, p.PH7, p.PH8, i2c::Config::default());
    if let Err(e) = wm8994::Wm8994::new(i2c).start(&mut CycleDelay) {
        defmt::error!("WM8994: {}", e);
        fault::exit(false)
    }
    let mut port = match SaiPort::start(tx, rx) {
        Ok(port) => port,
        Err(e) => {
            defmt::error!("SAI start: {}", e);
            fault::exit(false)
        }
    };

    let Ok(id) = Id::new(&ID) else {
        fault::exit(false)
    };
    let mut embed_config = EmbedConfig::new(id, KEY);
    embed_config.sample_rate = SAMPLE_RATE;
    embed_config.channels = CHANNELS;
    embed_config.profiles = PROFILES;
    if let Err(e) = EMBEDDER.configure(&embed_config) {
        defmt::error!("embedder: {}", e);
        fault::exit(false)
    }
    let mut detect_config = DetectConfig::new(KEY);
    detect_config.sample_rate = SAMPLE_RATE;
    detect_config.channels = CHANNELS;
    detect_config.profiles = PROFILES;
    if let Err(e) = DETECTOR.configure(&detect_config) {
        defmt::error!("detector: {}", e);
        fault::exit(false)
    }

    let mut pipeline = Pipeline {
        embedder: Some(EMBEDDER),
        detector: Some(DETECTOR),
        meter: &meter,
    };
    let mut stats = RunStats::default();
    loop {
        match pipeline.step(&mut port, &mut stats, report::event) {
            Ok(_) => {}
            Err(e) => {
                defmt::error!("audio: {}", e);
                fault::exit(false)
            }
        }
        if stats.periods >= REPORT_EVERY {
            log_costs(&meter, &stats);
            stats = RunStats::default();
        }
    }
}

/// Share of the core each path took over the last report interval.
fn log_costs(meter: &DwtMeter, stats: &RunStats) {
    let share = |cycles_per_second: u64| (cycles_per_second * 1000 / u64::from(CORE_HZ)) as u32;
    let embed = stats.embed.per_second(SAMPLE_RATE);
    let detect = stats.detect.per_second(SAMPLE_RATE);
    defmt::info!(
        "embed {} {}/s ({=u32}‰ of the core), detect {} {}/s ({=u32}‰), worst detect call {} {}, {} overruns",
        embed,
        meter.unit(),
        share(embed),
        detect,
        meter.unit(),
        share(detect),
        stats.detect.worst_call,
        meter.unit(),
        stats.overruns
    );
}
