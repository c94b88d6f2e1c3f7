//! The wall clock, injectable: providers read time only through a [`SharedClock`], so tests
//! move time with a [`ManualClock`] instead of sleeping.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to (tests).
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock reading the current system time, then frozen.
    pub fn new() -> Self {
        Self::at(SystemTime::now())
    }

    /// A clock frozen at `t`.
    pub fn at(t: SystemTime) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(t)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// A [`SharedClock`] reading this clock.
    pub fn shared(&self) -> SharedClock {
        SharedClock(Arc::new(self.clone()))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A clock handle for provider options: `Default` is the system clock; equal when it is the
/// same clock.
#[derive(Clone)]
pub struct SharedClock(Arc<dyn Clock>);

impl SharedClock {
    /// Wraps a clock.
    pub fn new(clock: impl Clock + 'static) -> Self {
        SharedClock(Arc::new(clock))
    }

    /// Now.
    pub fn now(&self) -> SystemTime {
        self.0.now()
    }
}

impl Default for SharedClock {
    /// The system clock (one shared instance, so default options compare equal).
    fn default() -> Self {
        static SYSTEM: OnceLock<Arc<dyn Clock>> = OnceLock::new();
        SharedClock(SYSTEM.get_or_init(|| Arc::new(SystemClock)).clone())
    }
}

impl std::fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedClock")
    }
}

impl PartialEq for SharedClock {
    /// The same clock instance.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedClock {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at(SystemTime::UNIX_EPOCH);
        let shared = c.shared();
        assert_eq!(shared.now(), SystemTime::UNIX_EPOCH);
        c.advance(Duration::from_secs(90));
        assert_eq!(
            shared.now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(90)
        );
        assert_eq!(shared, shared.clone());
        assert_eq!(SharedClock::default(), SharedClock::default());
        assert_ne!(shared, SharedClock::default());
    }
}
