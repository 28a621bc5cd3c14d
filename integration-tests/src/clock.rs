//! `MockClock`: a clock tests set and move, shared with the server they started, so deadlines,
//! token lifetimes and the auto-release job see the time the test chose.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use zhijian_domain::ports::Clock;

/// A settable clock; clones share the same time.
#[derive(Debug, Clone)]
pub struct MockClock(Arc<Mutex<DateTime<Utc>>>);

impl MockClock {
    /// A clock standing at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// A clock standing at a Beijing local date and time.
    pub fn at_beijing(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> Self {
        Self::at(beijing(year, month, day, hour, minute))
    }

    /// Moves the clock to `now` (forwards or back).
    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = now;
    }

    /// Moves the clock forwards by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().expect("clock lock");
        *now += by;
    }

    /// This clock as the server's port.
    pub fn port(&self) -> Arc<dyn Clock> {
        Arc::new(self.clone())
    }
}

impl Clock for MockClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// The instant of a Beijing local date and time.
pub fn beijing(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day).expect("a real date");
    let time = chrono::NaiveTime::from_hms_opt(hour, minute, 0).expect("a real time");
    zhijian_domain::calendar::from_local(date, time)
}
