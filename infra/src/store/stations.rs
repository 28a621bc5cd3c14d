//! Service stations: their rows, the "near me" page, and the versioned writes (every earlier
//! version kept in `station_versions`).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::station::{Amenity, OpeningHours, StationKind};

use crate::db::schema::{station_versions, stations, unions};
use crate::db::sql::stations::NearbyStatement;
use crate::db::{Numbered, StoreError};
use crate::store::unions::UnionRow;

/// A station as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = stations)]
pub struct StationRow {
    /// Key.
    pub id: i64,
    /// The owning union.
    pub union_id: i64,
    /// Name.
    pub name: String,
    /// [`StationKind`] as text.
    pub kind: String,
    /// GCJ-02 latitude.
    pub lat: f64,
    /// GCJ-02 longitude.
    pub lng: f64,
    /// Address.
    pub address: String,
    /// [`OpeningHours`] as JSON.
    pub hours: serde_json::Value,
    /// [`Amenity`] values.
    pub amenities: Vec<String>,
    /// The station's phone.
    pub phone: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Closed, if it is.
    pub closed_at: Option<DateTime<Utc>>,
}

impl StationRow {
    /// The kind.
    pub fn kind(&self) -> Result<StationKind, StoreError> {
        StationKind::parse(&self.kind).map_err(|_| StoreError::broken("unknown station kind"))
    }

    /// The opening hours.
    pub fn hours(&self) -> Result<OpeningHours, StoreError> {
        hours_of(&self.hours)
    }

    /// The amenities (unknown stored values are skipped).
    pub fn amenities(&self) -> Vec<Amenity> {
        amenities_of(&self.amenities)
    }
}

fn hours_of(value: &serde_json::Value) -> Result<OpeningHours, StoreError> {
    serde_json::from_value(value.clone())
        .map_err(|e| StoreError::broken(format!("station hours: {e}")))
}

fn amenities_of(values: &[String]) -> Vec<Amenity> {
    values
        .iter()
        .filter_map(|a| Amenity::parse(a).ok())
        .collect()
}

/// The stored fields of a station, new or edited.
#[derive(Debug, Clone)]
pub struct StationFields {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: StationKind,
    /// GCJ-02 latitude.
    pub lat: f64,
    /// GCJ-02 longitude.
    pub lng: f64,
    /// Address.
    pub address: String,
    /// Hours.
    pub hours: OpeningHours,
    /// Amenities, each once.
    pub amenities: Vec<Amenity>,
    /// Phone.
    pub phone: Option<String>,
}

impl StationFields {
    fn hours_json(&self) -> Result<serde_json::Value, StoreError> {
        serde_json::to_value(&self.hours)
            .map_err(|e| StoreError::broken(format!("station hours: {e}")))
    }

    fn amenity_texts(&self) -> Vec<String> {
        self.amenities
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect()
    }
}

/// Inserts a station of `union_id`.
pub fn create(
    conn: &mut PgConnection,
    union_id: i64,
    fields: &StationFields,
    now: DateTime<Utc>,
) -> Result<StationRow, StoreError> {
    Ok(diesel::insert_into(stations::table)
        .values((
            stations::union_id.eq(union_id),
            stations::name.eq(&fields.name),
            stations::kind.eq(fields.kind.as_str()),
            stations::lat.eq(fields.lat),
            stations::lng.eq(fields.lng),
            stations::address.eq(&fields.address),
            stations::hours.eq(fields.hours_json()?),
            stations::amenities.eq(fields.amenity_texts()),
            stations::phone.eq(fields.phone.as_deref()),
            stations::created_at.eq(now),
            stations::updated_at.eq(now),
        ))
        .returning(StationRow::as_returning())
        .get_result(conn)?)
}

/// The station with its owning union.
pub fn find_with_union(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<(StationRow, UnionRow)>, StoreError> {
    Ok(stations::table
        .inner_join(unions::table)
        .filter(stations::id.eq(id))
        .select((StationRow::as_select(), UnionRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Keeps `before` as an earlier version (by `admin`), then writes `fields` (or the close) if
/// the row is still at `before.version`. `None` when someone changed it first.
pub fn replace(
    conn: &mut PgConnection,
    before: &StationRow,
    fields: Option<&StationFields>,
    admin: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<Option<StationRow>, StoreError> {
    let target = stations::table
        .filter(stations::id.eq(before.id))
        .filter(stations::version.eq(before.version));
    let updated = match fields {
        Some(fields) => diesel::update(target)
            .set((
                stations::name.eq(&fields.name),
                stations::kind.eq(fields.kind.as_str()),
                stations::lat.eq(fields.lat),
                stations::lng.eq(fields.lng),
                stations::address.eq(&fields.address),
                stations::hours.eq(fields.hours_json()?),
                stations::amenities.eq(fields.amenity_texts()),
                stations::phone.eq(fields.phone.as_deref()),
                stations::version.eq(before.version + 1),
                stations::updated_at.eq(now),
            ))
            .returning(StationRow::as_returning())
            .get_result(conn)
            .optional()?,
        None => diesel::update(target)
            .set((
                stations::closed_at.eq(now),
                stations::version.eq(before.version + 1),
                stations::updated_at.eq(now),
            ))
            .returning(StationRow::as_returning())
            .get_result(conn)
            .optional()?,
    };
    if updated.is_some() {
        let snapshot = serde_json::to_value(before)
            .map_err(|e| StoreError::broken(format!("station snapshot: {e}")))?;
        diesel::insert_into(station_versions::table)
            .values((
                station_versions::station_id.eq(before.id),
                station_versions::version.eq(before.version),
                station_versions::snapshot.eq(snapshot),
                station_versions::replaced_at.eq(now),
                station_versions::replaced_by.eq(admin),
            ))
            .execute(conn)?;
    }
    Ok(updated)
}

/// One station of a "near me" page.
#[derive(Debug, Clone, QueryableByName)]
pub struct NearbyRow {
    /// Key.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// Owning union.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub union_id: i64,
    /// Its name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub union_name: String,
    /// Name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// Kind.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    /// Latitude.
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub lat: f64,
    /// Longitude.
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub lng: f64,
    /// Address.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub address: String,
    /// Hours.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub hours: serde_json::Value,
    /// Amenities.
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    pub amenities: Vec<String>,
    /// Phone.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub phone: Option<String>,
    /// Great-circle distance from the centre, metres.
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub distance_m: f64,
}

impl NearbyRow {
    /// The kind.
    pub fn kind(&self) -> Result<StationKind, StoreError> {
        StationKind::parse(&self.kind).map_err(|_| StoreError::broken("unknown station kind"))
    }

    /// The opening hours.
    pub fn hours(&self) -> Result<OpeningHours, StoreError> {
        hours_of(&self.hours)
    }

    /// The amenities.
    pub fn amenities(&self) -> Vec<Amenity> {
        amenities_of(&self.amenities)
    }
}

/// One batch of the "near me" search ([`crate::db::sql::stations::NEARBY`]).
pub fn nearby(
    conn: &mut PgConnection,
    statement: NearbyStatement,
) -> Result<Vec<NearbyRow>, StoreError> {
    Ok(Numbered(statement).load::<NearbyRow>(conn)?)
}

/// The station an admin of role `station` is bound to.
pub fn of_admin(conn: &mut PgConnection, admin: uuid::Uuid) -> Result<Option<i64>, StoreError> {
    use crate::db::schema::admins;
    Ok(admins::table
        .find(admin)
        .select(admins::station_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten())
}
