//! [`Faults`]: what a hostile network does to frames, decided by a seed.

use std::time::Duration;

use super::rng::SplitMix64;

/// How often each fault happens, as probabilities per frame, and how far frames are delayed.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultConfig {
    /// The frame vanishes.
    pub loss: f64,
    /// The frame arrives twice.
    pub duplicate: f64,
    /// The frame is held back by up to `reorder_delay` extra, so later frames overtake it.
    pub reorder: f64,
    /// One byte of the frame is changed.
    pub corrupt: f64,
    /// Every frame's one-way delay.
    pub delay: Duration,
    /// The most extra delay a reordered frame gets.
    pub reorder_delay: Duration,
}

impl FaultConfig {
    /// A perfect network with the given one-way delay.
    pub fn clean(delay: Duration) -> FaultConfig {
        FaultConfig {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            corrupt: 0.0,
            delay,
            reorder_delay: Duration::ZERO,
        }
    }

    /// The network of the acceptance test: 20 % loss, 5 % duplication, 10 % reordering, 1 % corruption.
    pub fn hostile(delay: Duration) -> FaultConfig {
        FaultConfig {
            loss: 0.20,
            duplicate: 0.05,
            reorder: 0.10,
            corrupt: 0.01,
            delay,
            reorder_delay: delay * 3,
        }
    }
}

/// What happens to one frame: zero, one or two copies, each with its own delay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fate {
    /// Delays of the copies that arrive (empty when the frame is lost).
    pub copies: Vec<Duration>,
    /// Whether the first copy was damaged, and at which byte with which XOR mask.
    pub corrupt_at: Option<(usize, u8)>,
}

/// A seeded source of faults.
#[derive(Clone, Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: SplitMix64,
}

impl Faults {
    /// Faults as `config` describes, replayable from `seed`.
    pub fn new(config: FaultConfig, seed: u64) -> Faults {
        Faults {
            config,
            rng: SplitMix64::new(seed),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Decides the fate of a frame of `len` bytes.
    pub fn fate(&mut self, len: usize) -> Fate {
        let mut fate = Fate::default();
        if self.rng.chance(self.config.loss) {
            return fate;
        }
        let copies = if self.rng.chance(self.config.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut delay = self.config.delay;
            if self.rng.chance(self.config.reorder) {
                let extra = self.config.reorder_delay.as_micros() as u64;
                delay += Duration::from_micros(self.rng.below(extra + 1));
            }
            fate.copies.push(delay);
        }
        if len > 0 && self.rng.chance(self.config.corrupt) {
            let at = self.rng.below(len as u64) as usize;
            // A non-zero mask always changes the byte.
            let mask = (self.rng.below(255) + 1) as u8;
            fate.corrupt_at = Some((at, mask));
        }
        fate
    }

    /// Applies a fate's damage to a frame.
    pub fn damage(fate: &Fate, frame: &mut [u8]) {
        if let Some((at, mask)) = fate.corrupt_at {
            if let Some(byte) = frame.get_mut(at) {
                *byte ^= mask;
            }
        }
    }
}
