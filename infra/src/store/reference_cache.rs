//! Reference data that every submission reads and that changes rarely, kept in memory so the
//! hot path does not ask PostgreSQL for it each time:
//!
//! - the working-day calendar, tagged with the calendar's revision (`calendar_years`). Every
//!   read first asks PostgreSQL for the current revision (`max(revision)`, one index lookup in
//!   the caller's transaction) and reloads when it differs: a year replaced through the API
//!   (`usecases::calendar::replace_year`) is used by the next deadline any server computes
//!   after its commit. A correction written into `calendar_days` by hand, which bumps no
//!   revision, takes effect once the loaded calendar is older than the time to live;
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

/// The calendar in memory: when it was loaded, at which revision.
#[derive(Debug)]
struct CachedCalendar {
    loaded: Instant,
    revision: i64,
    calendar: Arc<WorkingCalendar>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct ReferenceCache {
    calendar_ttl: Duration,
    calendar: RwLock<Option<CachedCalendar>>,
    regions: RwLock<HashSet<String>>,
}

impl ReferenceCache {
    /// A cache that reloads the calendar when its revision changed, or once it is older than
    /// `calendar_ttl` (zero: every time).
    pub fn new(calendar_ttl: Duration) -> Self {
        Self {
            calendar_ttl,
            calendar: RwLock::new(None),
            regions: RwLock::new(HashSet::new()),
        }
    }

    /// The working-day calendar: from memory while its revision is current and it is younger
    /// than the time to live, otherwise loaded again. The revision is read before the days, so
    /// the calendar kept is never older than the revision it is tagged with.
    pub fn calendar(&self, conn: &mut PgConnection) -> Result<Arc<WorkingCalendar>, StoreError> {
        let revision = crate::store::calendar::revision(conn)?;
        {
            let slot = self.calendar.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cached) = slot.as_ref()
                && cached.revision == revision
                && cached.loaded.elapsed() < self.calendar_ttl
            {
                return Ok(Arc::clone(&cached.calendar));
            }
        }
        let calendar = Arc::new(crate::store::calendar::load(conn)?);
        *self
            .calendar
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(CachedCalendar {
            loaded: Instant::now(),
            revision,
            calendar: Arc::clone(&calendar),
        });
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
