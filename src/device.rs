//! Device choice and seeding.
//!
//! The device is CUDA when libtorch sees a GPU, else the CPU. The environment
//! variable `WGFLOW_DEVICE` (`cpu`, `cuda`, `cuda:N` or `auto`) overrides the
//! choice, and the CLI's `--device` flag overrides the environment.
//!
//! One seed controls every random draw: [`seed_all`] seeds libtorch's CPU and
//! CUDA generators and returns the Rust RNG the rest of the crate draws from.

use crate::error::{Error, Result};
use rand::SeedableRng;
use tch::Device;

/// The RNG used for every random draw made on the Rust side.
pub type Rng = rand_chacha::ChaCha8Rng;

/// Parses `cpu`, `cuda`, `cuda:N` or `auto` (CUDA when available, else CPU).
///
/// Asking for CUDA on a machine without a usable GPU is an error, not a silent
/// fallback to the CPU.
pub fn parse_device(s: &str) -> Result<Device> {
    let s = s.trim().to_ascii_lowercase();
    let cuda_count = || tch::Cuda::device_count().max(0) as usize;
    match s.as_str() {
        "auto" | "" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" | "gpu" => {
            if tch::Cuda::is_available() {
                Ok(Device::Cuda(0))
            } else {
                Err(Error::config("device", "`cuda` was asked for but libtorch sees no CUDA device"))
            }
        }
        _ => {
            let idx = s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| Error::config("device", format!("expected cpu, cuda, cuda:N or auto, got `{s}`")))?;
            if idx < cuda_count() {
                Ok(Device::Cuda(idx))
            } else {
                Err(Error::config(
                    "device",
                    format!("cuda:{idx} asked for, but libtorch sees {} CUDA device(s)", cuda_count()),
                ))
            }
        }
    }
}

/// The device to use: `flag` if given, else `WGFLOW_DEVICE`, else CUDA when
/// available, else the CPU.
pub fn choose_device(flag: Option<&str>) -> Result<Device> {
    if let Some(f) = flag {
        return parse_device(f).map_err(|e| match e {
            Error::Config { msg, .. } => Error::config("device", msg),
            e => e,
        });
    }
    match std::env::var("WGFLOW_DEVICE") {
        Ok(v) => parse_device(&v).map_err(|e| match e {
            Error::Config { msg, .. } => Error::config("WGFLOW_DEVICE", msg),
            e => e,
        }),
        Err(_) => Ok(Device::cuda_if_available()),
    }
}

/// Short name of a device: `cpu` or `cuda:N`.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Seeds libtorch (CPU and every CUDA device) and returns a Rust RNG derived
/// from the same seed.
pub fn seed_all(seed: u64) -> Rng {
    tch::manual_seed(seed as i64);
    Rng::seed_from_u64(seed)
}
