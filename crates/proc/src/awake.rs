//! Keeping idle CPUs out of deep idle states while measuring: a PM QoS request of 0 µs on
//! `/dev/cpu_dma_latency`, held as long as the file stays open (what cyclictest and tuned's
//! latency profiles do). On a VM with the `haltpoll` idle driver an idle CPU otherwise halts, and
//! a timer due on it fires a millisecond or more late; with the request held it polls instead.
//! It applies to every CPU, the server's too, so a run records that it held one.

use std::fs::File;
use std::io::{self, Write};

const DEVICE: &str = "/dev/cpu_dma_latency";

/// The held request: dropping it lets the CPUs idle as before.
pub struct Awake {
    _device: File,
}

/// The idle driver's name, when the kernel has one to report.
const IDLE_DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";

/// Whether the kernel reports no cpuidle driver, so that idle CPUs halt through the
/// architecture's default idle, which no PM QoS request governs.
fn no_idle_driver() -> bool {
    std::fs::read_to_string(IDLE_DRIVER).is_ok_and(|d| d.trim() == "none")
}

/// Asks for 0 µs of wake-up latency until the returned value is dropped; fails without root,
/// without the device (a kernel without PM QoS), or without an idle driver to obey it.
pub fn hold() -> io::Result<Awake> {
    // Holding a request there would be recorded as done and change nothing.
    if no_idle_driver() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{IDLE_DRIVER} is `none`: idle CPUs halt through the architecture's default idle, which \
                 {DEVICE} does not govern (booting with `idle=poll` keeps them awake instead)"
            ),
        ));
    }
    let mut device = File::options().write(true).open(DEVICE)?;
    // The device takes the latency as a binary 32-bit integer.
    device.write_all(&0i32.to_ne_bytes())?;
    Ok(Awake { _device: device })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As root the request is taken and the device reads back 0 while it is held; with no idle
    /// driver to obey it, it is refused and says why.
    #[test]
    fn a_held_request_reads_back_zero() {
        if no_idle_driver() {
            let refused = hold().err().expect("no idle driver obeys the request");
            assert!(refused.to_string().contains("idle=poll"), "{refused}");
            return;
        }
        if !nix::unistd::geteuid().is_root() || !std::path::Path::new(DEVICE).exists() {
            // CI runs as root on a kernel with PM QoS: there, a missing requirement fails.
            assert!(std::env::var_os("CI").is_none(), "needs root and {DEVICE}");
            eprintln!("skipped: needs root and {DEVICE}");
            return;
        }
        let held = hold().unwrap();
        let mut now = [0u8; 4];
        let mut f = File::open(DEVICE).unwrap();
        std::io::Read::read_exact(&mut f, &mut now).unwrap();
        assert_eq!(i32::from_ne_bytes(now), 0);
        drop(held);
    }
}
