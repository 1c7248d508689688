//! Audio files in and out, and sample-rate conversion.

pub mod decode;
pub mod encode;
pub mod resample;
