//! The two hand-written statements of stations and benefits (policy items 5 and 6 of
//! [`super`]): the "near me" search, whose earthdistance operators the DSL cannot say, and the
//! grant of welcome benefits at approval, a data-modifying CTE.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::AstPass;

use crate::db::NumberedStatement;

/// Open stations within `$3` metres of (`$1` lat, `$2` lng) having every amenity of `$4`, after
/// the cursor (`$5` distance, `$6` id), nearest first, at most `$7`.
///
/// The GiST index `stations_location_idx` on `ll_to_earth(lat, lng)` serves the `earth_box`
/// containment (a cube around the sphere cap, slightly larger) and, through cube's `<->`
/// (the straight-line distance, which orders points exactly as the great-circle distance
/// does), walks the stations nearest first and stops after `$7`: the cost follows the page,
/// not the density around the point nor the size of the table. `earth_distance` keeps the exact
/// great-circle distance, computed once per row (earthdistance's functions are SQL functions,
/// each call costs): the caller drops the rows of the box's corners beyond `$3` — nearest first,
/// so the first one beyond ends the answer — and the first page (`$5` < 0) skips the keyset
/// comparison. Never a scan. Stations at exactly the same distance come in no
/// particular order: the caller sorts each batch by (distance, id) and never ends a page inside
/// such a group ([`crate::usecases::stations`]).
pub const NEARBY: &str = "SELECT s.id, s.union_id, u.name AS union_name, s.name, s.kind, \
         s.lat, s.lng, s.address, s.hours, s.amenities, s.phone, \
         earth_distance(ll_to_earth($1, $2), ll_to_earth(s.lat, s.lng)) AS distance_m \
     FROM stations s JOIN unions u ON u.id = s.union_id \
     WHERE s.closed_at IS NULL \
       AND earth_box(ll_to_earth($1, $2), $3) @> ll_to_earth(s.lat, s.lng) \
       AND s.amenities @> $4 \
       AND ($5 < 0 OR (earth_distance(ll_to_earth($1, $2), ll_to_earth(s.lat, s.lng)), s.id) > ($5, $6)) \
     ORDER BY ll_to_earth(s.lat, s.lng) <-> ll_to_earth($1, $2) \
     LIMIT $7";

/// The SQL types of [`NEARBY`]'s parameters.
pub const NEARBY_PARAMETERS: [&str; 7] = [
    "float8", "float8", "float8", "text[]", "float8", "int8", "int8",
];

/// Grants member `$1` (approved by application `$2`) one record of every open, in-stock
/// benefit of the unions `$3` (the member's union and its ancestors, from its path) that the
/// member does not hold yet, at `$4`; each stock goes down by one in the same statement, never
/// below zero (`stock > 0` is re-checked under the row lock). Answers the granted benefit ids.
pub const GRANT: &str = "WITH granted AS ( \
         UPDATE benefits b SET stock = b.stock - 1 \
         WHERE b.union_id = ANY($3) AND b.closed_at IS NULL AND b.stock > 0 \
           AND NOT EXISTS (SELECT 1 FROM member_benefits mb \
                           WHERE mb.member_id = $1 AND mb.benefit_id = b.id) \
         RETURNING b.id, b.valid_days) \
     INSERT INTO member_benefits (member_id, benefit_id, application_id, granted_at, expires_at) \
     SELECT $1, g.id, $2, $4, $4 + make_interval(days => g.valid_days) FROM granted g \
     ON CONFLICT ON CONSTRAINT member_benefits_once DO NOTHING \
     RETURNING benefit_id AS id";

/// The SQL types of [`GRANT`]'s parameters.
pub const GRANT_PARAMETERS: [&str; 4] = ["uuid", "uuid", "int8[]", "timestamptz"];

/// [`NEARBY`] with its values.
#[derive(Debug, Clone)]
pub struct NearbyStatement {
    /// Latitude of the centre.
    pub lat: f64,
    /// Longitude of the centre.
    pub lng: f64,
    /// Radius in metres.
    pub radius_m: f64,
    /// Amenities every station must have.
    pub amenities: Vec<String>,
    /// The cursor's distance (−1 for the first page).
    pub after_distance: f64,
    /// The cursor's id (0 for the first page).
    pub after_id: i64,
    /// Rows.
    pub limit: i64,
}

/// Statement cache key of [`NearbyStatement`].
pub struct NearbyId;

impl NumberedStatement for NearbyStatement {
    type Id = NearbyId;
    const FIXED_TEXT: bool = true;

    fn sql(&self) -> &str {
        NEARBY
    }

    fn bind<'b>(&'b self, n: usize, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Double, Text};
        match n {
            1 => out.push_bind_param::<Double, _>(&self.lat),
            2 => out.push_bind_param::<Double, _>(&self.lng),
            3 => out.push_bind_param::<Double, _>(&self.radius_m),
            4 => out.push_bind_param::<Array<Text>, _>(&self.amenities),
            5 => out.push_bind_param::<Double, _>(&self.after_distance),
            6 => out.push_bind_param::<BigInt, _>(&self.after_id),
            7 => out.push_bind_param::<BigInt, _>(&self.limit),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("the nearby search has no ${n}").into(),
            )),
        }
    }
}

/// [`GRANT`] with its values.
#[derive(Debug, Clone)]
pub struct GrantStatement {
    /// The new member.
    pub member_id: uuid::Uuid,
    /// The approved application.
    pub application_id: uuid::Uuid,
    /// The member's union and its ancestors.
    pub unions: Vec<i64>,
    /// The approval's time.
    pub at: DateTime<Utc>,
}

/// Statement cache key of [`GrantStatement`].
pub struct GrantId;

impl NumberedStatement for GrantStatement {
    type Id = GrantId;
    const FIXED_TEXT: bool = true;

    fn sql(&self) -> &str {
        GRANT
    }

    fn bind<'b>(&'b self, n: usize, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Timestamptz, Uuid};
        match n {
            1 => out.push_bind_param::<Uuid, _>(&self.member_id),
            2 => out.push_bind_param::<Uuid, _>(&self.application_id),
            3 => out.push_bind_param::<Array<BigInt>, _>(&self.unions),
            4 => out.push_bind_param::<Timestamptz, _>(&self.at),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("the benefit grant has no ${n}").into(),
            )),
        }
    }
}
