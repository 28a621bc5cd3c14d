//! Service stations (服务站点) and what membership brings there: the managers' stations
//! (create, edit — versioned, every earlier version kept — close), the public "near me" search
//! and station card, the unions' welcome benefits ([`benefits`]), granted on approval, and
//! their redemption by member card at a station.

pub mod benefits;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use diesel::Connection;
use serde::Deserialize;
use zhijian_domain::ids::UnionId;
use zhijian_domain::station::StationPhone;
use zhijian_domain::station::{
    Amenity, Coordinates, OpeningHours, SearchRadius, StationId, StationKind,
};
use zhijian_domain::text::{StationAddress, StationName};

use crate::db::sql::stations::NearbyStatement;
use crate::db::{self, StoreError};
use crate::redis::RedisStore;
use crate::redis::rate_limit::{self, RateLimit, Verdict};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::benefits::{self as benefit_store, BenefitRow};
use crate::store::idempotency::{self, Answer, IdempotencyKey};
use crate::store::stations::{self, NearbyRow, StationFields, StationRow};
use crate::store::unions::UnionRow;
use crate::usecases::Services;
use crate::usecases::store_errors;

/// `[stations]` settings.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct StationsConfig {
    /// The cap of `GET /v1/stations/nearby` per client address.
    #[serde(default = "default_nearby_cap")]
    pub nearby_per_ip: RateLimit,
}

fn default_nearby_cap() -> RateLimit {
    RateLimit {
        limit: 120,
        window_secs: 60,
    }
}

impl Default for StationsConfig {
    fn default() -> Self {
        Self {
            nearby_per_ip: default_nearby_cap(),
        }
    }
}

impl StationsConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.nearby_per_ip.limit == 0 || self.nearby_per_ip.window_secs == 0 {
            return Err("stations.nearby_per_ip needs a positive limit and window_secs".into());
        }
        Ok(())
    }
}

/// A station as a manager describes it, parsed.
#[derive(Debug, Clone)]
pub struct StationDraft {
    /// Name.
    pub name: StationName,
    /// Kind.
    pub kind: StationKind,
    /// GCJ-02 location.
    pub location: Coordinates,
    /// Address.
    pub address: StationAddress,
    /// Opening hours and closed days.
    pub hours: OpeningHours,
    /// Amenities.
    pub amenities: Vec<Amenity>,
    /// The station's phone.
    pub phone: Option<StationPhone>,
}

impl StationDraft {
    fn fields(&self) -> StationFields {
        StationFields {
            name: self.name.as_str().to_owned(),
            kind: self.kind,
            lat: self.location.lat(),
            lng: self.location.lng(),
            address: self.address.as_str().to_owned(),
            hours: self.hours.clone(),
            amenities: zhijian_domain::station::amenity_set(self.amenities.clone()),
            phone: self.phone.as_ref().map(|p| p.as_str().to_owned()),
        }
    }
}

/// A station with its owning union.
#[derive(Debug, Clone)]
pub struct StationRecord {
    /// The station.
    pub station: StationRow,
    /// Its union.
    pub union: UnionRow,
}

/// Why a manager's change to a station was refused.
#[derive(Debug, thiserror::Error)]
pub enum StationWriteError {
    /// The station or union does not exist or lies outside the manager's subtree.
    #[error("not found")]
    NotFound,
    /// Someone changed the station first.
    #[error("stale version")]
    Stale,
    /// The station is closed.
    #[error("station closed")]
    Closed,
    /// Closing without a successor while benefits are collected there (open ones, or records
    /// not yet used): the members would be stranded.
    #[error("benefits collected at the station")]
    HasBenefits {
        /// How many benefits name it.
        benefits: usize,
    },
    /// The successor is not another open station of the same union.
    #[error("bad successor")]
    BadSuccessor,
    /// The idempotency key was used before with another request.
    #[error("idempotency key reused")]
    KeyReused,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a station could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StationReadError {
    /// No open station with this id.
    #[error("not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a "near me" search was refused.
#[derive(Debug, thiserror::Error)]
pub enum NearbyError {
    /// The client passed its cap.
    #[error("rate limited")]
    Limited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(StationWriteError, StationReadError, NearbyError);

fn summary(row: &StationRow) -> String {
    format!(
        "v{} {} [{}] ({:.6},{:.6}) {}{}",
        row.version,
        row.name,
        row.kind,
        row.lat,
        row.lng,
        row.address,
        if row.closed_at.is_some() {
            " 已关闭"
        } else {
            ""
        }
    )
}

fn audit_station(
    conn: &mut diesel::PgConnection,
    admin: &AdminActor,
    row: &StationRow,
    action: &'static str,
    reason: String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &admin.audit_actor(),
            object_kind: "station",
            object_id: row.id.to_string(),
            action,
            reason: Some(reason),
        },
    )
}

/// 新建站点: a station of union `union` (inside the manager's subtree); `render` makes the
/// answer, the one a retry with the same `key` gets back.
pub async fn create_station(
    ctx: &Services,
    admin: AdminActor,
    union: UnionId,
    draft: StationDraft,
    key: Option<IdempotencyKey>,
    render: impl FnOnce(&StationRecord) -> Result<Answer, String> + Send + 'static,
) -> Result<Answer, StationWriteError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            if let Some(key) = &key {
                match idempotency::claim(conn, key)? {
                    Err(_) => return Err(StationWriteError::KeyReused),
                    Ok(Some(replay)) => return Ok(replay),
                    Ok(None) => {}
                }
            }
            let owner = crate::store::unions::find(conn, union)?
                .filter(|u| u.union_path().is_ok_and(|p| admin.union_path.contains(&p)))
                .ok_or(StationWriteError::NotFound)?;
            let station = stations::create(conn, owner.id, &draft.fields(), now)?;
            audit_station(
                conn,
                &admin,
                &station,
                "create_station",
                summary(&station),
                now,
            )?;
            log::info!(station_id = station.id, union_id = owner.id; "station created");
            let record = StationRecord {
                station,
                union: owner,
            };
            let answer = render(&record).map_err(StoreError::broken)?;
            if let Some(key) = &key {
                idempotency::store_response(conn, key, answer.0, &answer.1)?;
            }
            Ok(answer)
        })
    })
    .await
}

/// The station `id` if it lies in the manager's subtree.
fn in_reach(
    conn: &mut diesel::PgConnection,
    admin: &AdminActor,
    id: StationId,
) -> Result<(StationRow, UnionRow), StationWriteError> {
    let (station, union) =
        stations::find_with_union(conn, id.get())?.ok_or(StationWriteError::NotFound)?;
    if !admin.union_path.contains(&union.union_path()?) {
        return Err(StationWriteError::NotFound);
    }
    Ok((station, union))
}

/// 修改站点 seen at `version`: the earlier version is kept; a lost race is `Stale`.
pub async fn edit_station(
    ctx: &Services,
    admin: AdminActor,
    id: StationId,
    version: i32,
    draft: StationDraft,
) -> Result<StationRecord, StationWriteError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let (before, union) = in_reach(conn, &admin, id)?;
            if before.closed_at.is_some() {
                return Err(StationWriteError::Closed);
            }
            if before.version != version {
                return Err(StationWriteError::Stale);
            }
            let after =
                stations::replace(conn, &before, Some(&draft.fields()), admin.admin_id, now)?
                    .ok_or(StationWriteError::Stale)?;
            let change = format!("{} → {}", summary(&before), summary(&after));
            audit_station(conn, &admin, &after, "edit_station", change, now)?;
            Ok(StationRecord {
                station: after,
                union,
            })
        })
    })
    .await
}

/// 关闭站点 seen at `version`: it leaves the "near me" search; its history stays. Benefits
/// collected there — open ones, or with records not yet used — would strand their members:
/// without `successor` the close is refused (`HasBenefits`); with one (another open station of
/// the same union) they move there, each audited, in the same transaction.
pub async fn close_station(
    ctx: &Services,
    admin: AdminActor,
    id: StationId,
    version: i32,
    successor: Option<StationId>,
) -> Result<StationRecord, StationWriteError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let (before, union) = in_reach(conn, &admin, id)?;
            if before.closed_at.is_some() {
                return Err(StationWriteError::Closed);
            }
            if before.version != version {
                return Err(StationWriteError::Stale);
            }
            let pending = benefit_store::pending_at_station(conn, before.id, now)?;
            let successor = match successor {
                Some(next) => Some(successor_of(conn, &before, next)?),
                None if pending.is_empty() => None,
                None => {
                    return Err(StationWriteError::HasBenefits {
                        benefits: pending.len(),
                    });
                }
            };
            let after = stations::replace(conn, &before, None, admin.admin_id, now)?
                .ok_or(StationWriteError::Stale)?;
            let change = format!("{} → {}", summary(&before), summary(&after));
            audit_station(conn, &admin, &after, "close_station", change, now)?;
            if let Some(next) = successor {
                for benefit in &pending {
                    move_benefit(conn, &admin, benefit, &before, &next, now)?;
                }
            }
            Ok(StationRecord {
                station: after,
                union,
            })
        })
    })
    .await
}

/// The successor of closing station `closing`: another open station of the same union.
fn successor_of(
    conn: &mut diesel::PgConnection,
    closing: &StationRow,
    next: StationId,
) -> Result<StationRow, StationWriteError> {
    stations::find_with_union(conn, next.get())?
        .map(|(row, _)| row)
        .filter(|row| {
            row.id != closing.id && row.union_id == closing.union_id && row.closed_at.is_none()
        })
        .ok_or(StationWriteError::BadSuccessor)
}

fn move_benefit(
    conn: &mut diesel::PgConnection,
    admin: &AdminActor,
    benefit: &BenefitRow,
    from: &StationRow,
    to: &StationRow,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let moved = benefit_store::move_to_station(conn, benefit, to.id, now)?;
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &admin.audit_actor(),
            object_kind: "benefit",
            object_id: moved.id.to_string(),
            action: "move_benefit_station",
            reason: Some(format!(
                "v{} 领取站点{}（{}，关闭） → v{} 领取站点{}（{}）",
                benefit.version, from.id, from.name, moved.version, to.id, to.name
            )),
        },
    )
}

/// The public card of an open station.
pub async fn public_station(
    ctx: &Services,
    id: StationId,
) -> Result<StationRecord, StationReadError> {
    db::run(&ctx.pool, move |conn| {
        let (station, union) = stations::find_with_union(conn, id.get())?
            .filter(|(s, _)| s.closed_at.is_none())
            .ok_or(StationReadError::NotFound)?;
        Ok(StationRecord { station, union })
    })
    .await
}

/// A "near me" search, parsed.
#[derive(Debug, Clone)]
pub struct NearbyQuery {
    /// Where the worker is.
    pub centre: Coordinates,
    /// How far.
    pub radius: SearchRadius,
    /// Amenities every station must have.
    pub amenities: Vec<Amenity>,
    /// Only stations open now.
    pub open_now: bool,
    /// After this `(distance, id)`.
    pub after: Option<(f64, i64)>,
    /// Page size.
    pub limit: i64,
}

/// One station of the answer, with whether it is open now.
#[derive(Debug, Clone)]
pub struct NearbyStation {
    /// The row, with its distance.
    pub row: NearbyRow,
    /// Open at the clock's now (Beijing time).
    pub open_now: bool,
}

/// A page of the answer.
#[derive(Debug, Clone)]
pub struct NearbyPage {
    /// Nearest first.
    pub items: Vec<NearbyStation>,
    /// Whether more follow.
    pub more: bool,
}

/// Where the client is, and the cap it is counted against.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// Redis, where the caps are counted.
    pub redis: &'a RedisStore,
    /// The cap.
    pub cap: RateLimit,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

/// Rows read per statement when `open_now` filters some out.
const BATCH: i64 = 100;

/// 附近的站点: open stations within the radius, nearest first, with their distance and whether
/// they are open now; counted against the client's cap first (a Redis outage lets the search
/// through: it is public, read-only data).
pub async fn find_nearby_stations(
    ctx: &Services,
    caller: Caller<'_>,
    query: NearbyQuery,
) -> Result<NearbyPage, NearbyError> {
    match rate_limit::hit(caller.redis, &ctx.pii, "nearby", caller.ip, caller.cap).await {
        Ok(Verdict::Allowed) => {}
        Ok(Verdict::Limited { retry_after_secs }) => {
            return Err(NearbyError::Limited { retry_after_secs });
        }
        Err(e) => log::warn!("nearby stations: the rate limit is not counted: {e}"),
    }
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| search(conn, &query, now)).await
}

fn search(
    conn: &mut diesel::PgConnection,
    query: &NearbyQuery,
    now: DateTime<Utc>,
) -> Result<NearbyPage, NearbyError> {
    let limit = usize::try_from(query.limit).unwrap_or(0).max(1);
    let (mut after_distance, mut after_id) = query.after.unwrap_or((-1.0, 0));
    let amenities: Vec<String> = query
        .amenities
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    // One more than the page and one to spare, so that dropping the last group of a full batch
    // (its equals may follow) still leaves the page and the row that says more follow.
    let mut batch_size = if query.open_now {
        BATCH
    } else {
        query.limit + 2
    };
    let mut items: Vec<NearbyStation> = Vec::with_capacity(limit + 1);
    loop {
        let mut rows = stations::nearby(
            conn,
            NearbyStatement {
                lat: query.centre.lat(),
                lng: query.centre.lng(),
                radius_m: f64::from(query.radius.metres()),
                amenities: amenities.clone(),
                after_distance,
                after_id,
                limit: batch_size,
            },
        )?;
        // Nearest first: the first row of the box's corners beyond the radius ends the answer.
        let radius = f64::from(query.radius.metres());
        let beyond = rows.iter().position(|r| r.distance_m > radius);
        let full = beyond.is_none() && i64::try_from(rows.len()).unwrap_or(0) == batch_size;
        if let Some(first_beyond) = beyond {
            rows.truncate(first_beyond);
        }
        if !complete_groups(&mut rows, full) {
            // The whole full batch is one group of equal distances, of which the statement
            // returned an arbitrary part (the index orders by distance only): read it again,
            // larger, until the group ends inside the batch.
            batch_size = batch_size.saturating_mul(2);
            continue;
        }
        if let Some(last) = rows.last() {
            (after_distance, after_id) = (last.distance_m, last.id);
        }
        for row in rows {
            let open_now = row.hours()?.is_open_at(now);
            if !query.open_now || open_now {
                items.push(NearbyStation { row, open_now });
            }
        }
        if !full || items.len() > limit {
            break;
        }
    }
    // Every group of equal distances was read whole, so (distance, id) orders the answer
    // totally and a page may end anywhere: the cursor is the last item's (distance, id).
    let more = items.len() > limit;
    items.truncate(limit);
    Ok(NearbyPage { items, more })
}

/// Sorts a batch by (distance, id); when the batch was full, drops its last group of equal
/// distances (the statement cut it at an arbitrary member; the next statement reads it
/// whole). `false` when that group is the whole batch: nothing is left, read a larger batch.
fn complete_groups(rows: &mut Vec<NearbyRow>, full: bool) -> bool {
    rows.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
    if full && let Some(last) = rows.last().map(|r| r.distance_m) {
        match rows.iter().rposition(|r| r.distance_m != last) {
            Some(i) => rows.truncate(i + 1),
            None => return false,
        }
    }
    true
}
