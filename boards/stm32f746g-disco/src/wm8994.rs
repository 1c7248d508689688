//! The Cirrus Logic (Wolfson) WM8994 codec on the STM32F746G-DISCO, over
//! any embedded-hal 1.0 I2C bus.
//!
//! Configured as ST's board support package does for "line in 1 to
//! headphones": AIF1 slave, I2S, 16-bit, 48 kHz from a 256·fs MCLK; ADC1
//! from the LINE IN jack (IN1L/IN1R) to AIF1 timeslot 0; AIF1 timeslot 0 to
//! DAC1 to HPOUT1 (the HEADPHONE jack). The ADC's digital filter passes up to
//! 0.454·fs (21.8 kHz at 48 kHz), so the `ultrasonic` band (to 21.6 kHz)
//! reaches the detector; the DAC's passes it to the headphone output.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

/// 7-bit I2C address (CS/ADDR pin low).
const ADDRESS: u8 = 0x1A;
/// Register 0x0000 reads back the device ID.
const DEVICE_ID: u16 = 0x8994;

/// What went wrong talking to the codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum CodecError {
    /// The I2C transfer failed (no ACK, bus error).
    Bus,
    /// Something answered at 0x1A, but not a WM8994.
    WrongDevice { id: u16 },
}

#[derive(Debug)]
pub struct Wm8994<I2C> {
    i2c: I2C,
}

/// (register, value) or a pause in milliseconds, in the order the codec needs.
enum Step {
    Write(u16, u16),
    PauseMs(u32),
}
use Step::{PauseMs, Write};

/// Line in 1 to AIF1, AIF1 to headphones, 48 kHz, 16-bit I2S, slave.
/// Values from the WM8994 datasheet's register map, in ST's start-up order
/// (VMID first, charge pump and DC servo before the output clamps open).
const LINE_IN_TO_HEADPHONES: &[Step] = &[
    // Errata work-arounds from the datasheet.
    Write(0x0102, 0x0003),
    Write(0x0817, 0x0000),
    Write(0x0102, 0x0000),
    // VMID soft start (fast), start-up bias current on.
    Write(0x0039, 0x006C),
    // Bias generator and VMID on (plus MICB1 for the input path).
    Write(0x0001, 0x0013),
    PauseMs(50),
    // DAC1 L/R and AIF1DAC1 L/R on; AIF1 timeslot 0 to DAC1, timeslot 1 off.
    Write(0x0005, 0x0303),
    Write(0x0601, 0x0001),
    Write(0x0602, 0x0001),
    Write(0x0604, 0x0000),
    Write(0x0605, 0x0000),
    // Line in 1: IN1LN/IN1RN to the input PGAs, PGA outputs to MIXINL/R.
    Write(0x0028, 0x0011),
    Write(0x0029, 0x0035),
    Write(0x002A, 0x0035),
    // ADC L/R and AIF1ADC1 L/R on; IN1L/IN1R on, thermal shutdown on.
    Write(0x0004, 0x0303),
    Write(0x0002, 0x6350),
    // ADC L/R to AIF1 timeslot 0 L/R.
    Write(0x0606, 0x0002),
    Write(0x0607, 0x0002),
    // AIF1: 48 kHz, AIF1CLK = 256·fs; I2S, 16-bit; slave.
    Write(0x0210, 0x0083),
    Write(0x0300, 0x4010),
    Write(0x0302, 0x0000),
    // AIF1 DSP clock and core clock on; AIF1CLK from MCLK1, enabled.
    Write(0x0208, 0x000A),
    Write(0x0200, 0x0001),
    // Headphone start-up: DAC1 to the HPOUT1 mixers, charge pump, DC servo.
    Write(0x002D, 0x0100),
    Write(0x002E, 0x0100),
    Write(0x0110, 0x8100),
    PauseMs(300),
    Write(0x0420, 0x0000),
    Write(0x0051, 0x0005),
    Write(0x0001, 0x0313),
    Write(0x0060, 0x0022),
    Write(0x004C, 0x9F25),
    PauseMs(15),
    Write(0x002D, 0x0001),
    Write(0x002E, 0x0001),
    Write(0x0003, 0x0030),
    Write(0x0054, 0x0033),
    PauseMs(257),
    // Output stages on, clamps removed; DAC1 unmuted at 0 dB.
    Write(0x0060, 0x00EE),
    Write(0x0610, 0x00C0),
    Write(0x0611, 0x00C0),
    Write(0x0420, 0x0000),
    // Headphone volume 0 dB (0x39), zero-cross, update both sides.
    Write(0x001C, 0x0179),
    Write(0x001D, 0x0179),
    // Line inputs unmuted at 0 dB; ADC high-pass at 4 Hz (hi-fi mode).
    Write(0x0018, 0x000B),
    Write(0x001A, 0x000B),
    Write(0x0410, 0x1800),
    // AIF1ADC1 digital volume 0 dB, update both sides.
    Write(0x0400, 0x01C0),
    Write(0x0401, 0x01C0),
];

impl<I2C: I2c> Wm8994<I2C> {
    pub fn new(i2c: I2C) -> Self {
        Wm8994 { i2c }
    }

    fn write(&mut self, register: u16, value: u16) -> Result<(), CodecError> {
        let [rh, rl] = register.to_be_bytes();
        let [vh, vl] = value.to_be_bytes();
        self.i2c
            .write(ADDRESS, &[rh, rl, vh, vl])
            .map_err(|_| CodecError::Bus)
    }

    fn read(&mut self, register: u16) -> Result<u16, CodecError> {
        let mut value = [0u8; 2];
        self.i2c
            .write_read(ADDRESS, &register.to_be_bytes(), &mut value)
            .map_err(|_| CodecError::Bus)?;
        Ok(u16::from_be_bytes(value))
    }

    /// Reset, check the device ID, and bring up line in to headphones. The
    /// SAI must already drive MCLK, or the codec's clocking will not start.
    pub fn start(&mut self, delay: &mut impl DelayNs) -> Result<(), CodecError> {
        let id = self.read(0x0000)?;
        if id != DEVICE_ID {
            return Err(CodecError::WrongDevice { id });
        }
        // Writing the ID register resets every register to its default.
        self.write(0x0000, 0x0000)?;
        delay.delay_ms(5);
        for step in LINE_IN_TO_HEADPHONES {
            match *step {
                Write(register, value) => self.write(register, value)?,
                PauseMs(ms) => delay.delay_ms(ms),
            }
        }
        Ok(())
    }
}
