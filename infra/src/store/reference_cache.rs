//! Reference data that every submission reads and that changes rarely, kept in memory so the
//! hot path does not ask PostgreSQL for it each time:
//!
//! - the working-day calendar, reloaded once it is older than the time to live (an operator's
//!   correction of `calendar_days` takes effect within that time);
//! - the region codes seen to exist. Regions are only ever added or renamed by
//!   `zhijian import-regions`, never removed, so a code found once stays valid; unknown codes
//!   are not remembered (they may be imported later) and always asked again.
//!
//! One cache per server (it lives in the application state), shared by its workers.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use zhijian_domain::calendar::WorkingCalendar;
use zhijian_domain::region::RegionCode;

use crate::db::StoreError;

/// How many known region codes are kept at most (there are about 665 000; a server sees the
/// few thousand where its workers are). When full, the set starts afresh.
const MAX_REGIONS: usize = 50_000;

/// See the module documentation.
#[derive(Debug)]
pub struct ReferenceCache {
    calendar_ttl: Duration,
    calendar: RwLock<Option<(Instant, Arc<WorkingCalendar>)>>,
    regions: RwLock<HashSet<String>>,
}

impl ReferenceCache {
    /// A cache that reloads the calendar once it is older than `calendar_ttl` (zero: every
    /// time).
    pub fn new(calendar_ttl: Duration) -> Self {
        Self {
            calendar_ttl,
            calendar: RwLock::new(None),
            regions: RwLock::new(HashSet::new()),
        }
    }

    /// The working-day calendar, from memory while it is fresh.
    pub fn calendar(&self, conn: &mut PgConnection) -> Result<Arc<WorkingCalendar>, StoreError> {
        {
            let slot = self.calendar.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((loaded, calendar)) = slot.as_ref()
                && loaded.elapsed() < self.calendar_ttl
            {
                return Ok(Arc::clone(calendar));
            }
        }
        let calendar = Arc::new(crate::store::calendar::load(conn)?);
        *self
            .calendar
            .write()
            .unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), Arc::clone(&calendar)));
        Ok(calendar)
    }

    /// Whether `region` is in the regions table.
    pub fn region_exists(
        &self,
        conn: &mut PgConnection,
        region: &RegionCode,
    ) -> Result<bool, StoreError> {
        if self
            .regions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(region.as_str())
        {
            return Ok(true);
        }
        let exists = crate::store::regions::find(conn, region.as_str())?.is_some();
        if exists {
            let mut known = self.regions.write().unwrap_or_else(PoisonError::into_inner);
            if known.len() >= MAX_REGIONS {
                known.clear();
            }
            known.insert(region.as_str().to_owned());
        }
        Ok(exists)
    }
}
