//! B7 of `make bench`: service stations spread over China, and the "near me" search timed at
//! random city points.
//!
//! There are no coordinates in the region data, so the spread is a documented synthetic one:
//! 50 real cities (approximate centres: the municipalities, provincial capitals and the largest
//! prefecture cities, plus 巫山县) and 2 950 synthetic county seats drawn uniformly over the
//! populated part of the country (18–42° N, 100–123° E, fixed seed). A station belongs to a
//! city with probability 0.3 (the first cities more often: the draw is squared) and lies at a
//! normal offset of σ = 8 km from its centre; otherwise to a county seat at σ = 3 km. At 1 M
//! stations a city core holds about 50 stations within 1 km and a county seat about 15 — ten
//! times the density of today's 户外劳动者服务站点, the worst case for a "within 1 km" search.
//! Query points are drawn from the same mixture.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use zhijian_infra::db::StoreError;
use zhijian_infra::db::sql::stations::NearbyStatement;

/// (lat, lng) of the 50 cities.
pub const CITIES: [(f64, f64); 50] = [
    (39.90, 116.40),
    (31.23, 121.47),
    (23.13, 113.26),
    (22.54, 114.06),
    (29.56, 106.55),
    (30.57, 104.07),
    (39.13, 117.20),
    (30.59, 114.31),
    (30.27, 120.16),
    (34.34, 108.94),
    (32.06, 118.80),
    (34.75, 113.63),
    (28.23, 112.94),
    (41.80, 123.43),
    (36.07, 120.38),
    (45.80, 126.53),
    (36.65, 117.12),
    (25.04, 102.71),
    (38.91, 121.61),
    (24.48, 118.09),
    (26.07, 119.30),
    (31.82, 117.23),
    (38.04, 114.51),
    (43.82, 125.32),
    (22.82, 108.37),
    (28.68, 115.86),
    (37.87, 112.55),
    (26.65, 106.63),
    (43.83, 87.62),
    (36.06, 103.83),
    (40.84, 111.75),
    (38.49, 106.23),
    (36.62, 101.78),
    (29.65, 91.14),
    (20.04, 110.34),
    (18.25, 109.51),
    (31.30, 120.59),
    (23.02, 113.75),
    (23.02, 113.12),
    (29.87, 121.55),
    (31.49, 120.31),
    (28.00, 120.70),
    (24.81, 113.60),
    (31.07, 109.88),
    (39.63, 118.18),
    (34.26, 117.18),
    (34.62, 112.45),
    (24.87, 118.68),
    (37.46, 121.45),
    (22.27, 113.58),
];

/// Synthetic county seats.
const COUNTIES: usize = 2_950;

/// The centres of the mixture: the cities, then the county seats (fixed seed).
fn counties() -> Vec<(f64, f64)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    (0..COUNTIES)
        .map(|_| (rng.random_range(18.0..42.0), rng.random_range(100.0..123.0)))
        .collect()
}

/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_195.0;

/// A point of the mixture.
fn draw(rng: &mut impl Rng, counties: &[(f64, f64)]) -> (f64, f64) {
    let city = rng.random_bool(0.3);
    let (centre, sigma_m) = if city {
        let u: f64 = rng.random();
        (
            CITIES[((u * u) * CITIES.len() as f64) as usize % CITIES.len()],
            8_000.0,
        )
    } else {
        (counties[rng.random_range(0..counties.len())], 3_000.0)
    };
    let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
    let r = (-2.0 * u1.ln()).sqrt() * sigma_m;
    let (dy, dx) = (
        r * (std::f64::consts::TAU * u2).sin(),
        r * (std::f64::consts::TAU * u2).cos(),
    );
    let lat = centre.0 + dy / M_PER_DEG;
    let lng = centre.1 + dx / (M_PER_DEG * lat.to_radians().cos());
    (lat, lng)
}

/// Adds stations until the table holds `target` (owned by the first union), in batches.
/// Returns how many were added.
pub fn generate_stations(conn: &mut PgConnection, target: i64) -> Result<i64, StoreError> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let have = diesel::sql_query("SELECT count(*) AS n FROM stations")
        .get_result::<N>(conn)?
        .n;
    let union = diesel::sql_query("SELECT min(id) AS n FROM unions")
        .get_result::<N>(conn)?
        .n;
    let counties = counties();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7 + u64::try_from(have).unwrap_or(0));
    let mut added = 0;
    let hours = r#"{"weekly": [{"weekday": 1, "open": 480, "close": 1200}, {"weekday": 2, "open": 480, "close": 1200}, {"weekday": 3, "open": 480, "close": 1200}, {"weekday": 4, "open": 480, "close": 1200}, {"weekday": 5, "open": 480, "close": 1200}, {"weekday": 6, "open": 540, "close": 1080}], "closed_days": []}"#;
    while have + added < target {
        let batch = (target - have - added).min(10_000);
        let mut lats = Vec::with_capacity(batch as usize);
        let mut lngs = Vec::with_capacity(batch as usize);
        for _ in 0..batch {
            let (lat, lng) = draw(&mut rng, &counties);
            lats.push(lat);
            lngs.push(lng);
        }
        diesel::sql_query(
            "INSERT INTO stations (union_id, name, kind, lat, lng, address, hours, amenities) \
             SELECT $1, '服务站点' || p.i, 'service_post', p.lat, p.lng, '地址', $4::jsonb, \
                    ARRAY['drinking_water', 'charging'] \
             FROM unnest($2::float8[], $3::float8[]) WITH ORDINALITY AS p(lat, lng, i)",
        )
        .bind::<diesel::sql_types::BigInt, _>(union)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Double>, _>(&lats)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Double>, _>(&lngs)
        .bind::<diesel::sql_types::Text, _>(hours)
        .execute(conn)?;
        added += batch;
    }
    conn.batch_execute("ANALYZE stations")?;
    Ok(added)
}

/// Latencies of the search, in microseconds.
#[derive(Debug, Clone)]
pub struct NearbyTimings {
    /// Stations in the table.
    pub stations: i64,
    /// Queries timed.
    pub queries: usize,
    /// Median.
    pub p50_us: u128,
    /// 95th percentile.
    pub p95_us: u128,
    /// Mean stations answered.
    pub mean_found: f64,
}

/// Times `queries` "nearest 20 within 1 km" searches (the server's statement, prepared) at
/// points drawn from the mixture, after `queries / 10` untimed warm-up searches.
pub fn time_nearby(conn: &mut PgConnection, queries: usize) -> Result<NearbyTimings, StoreError> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let stations = diesel::sql_query("SELECT count(*) AS n FROM stations")
        .get_result::<N>(conn)?
        .n;
    let counties = counties();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let mut times = Vec::with_capacity(queries);
    let mut found = 0usize;
    for i in 0..queries + queries / 10 {
        let (lat, lng) = draw(&mut rng, &counties);
        let started = std::time::Instant::now();
        let rows = zhijian_infra::store::stations::nearby(
            conn,
            NearbyStatement {
                lat,
                lng,
                radius_m: 1_000.0,
                amenities: Vec::new(),
                after_distance: -1.0,
                after_id: 0,
                limit: 21,
            },
        )?;
        let elapsed = started.elapsed().as_micros();
        if i >= queries / 10 {
            times.push(elapsed);
            found += rows
                .iter()
                .filter(|r| r.distance_m <= 1_000.0)
                .count()
                .min(20);
        }
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Ok(NearbyTimings {
        stations,
        queries,
        p50_us: at(0.5),
        p95_us: at(0.95),
        mean_found: found as f64 / queries.max(1) as f64,
    })
}
