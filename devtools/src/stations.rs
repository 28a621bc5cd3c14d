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
//!
//! **Same density at both sizes.** The ratio p50 at 1 M ÷ at 1 k must measure the index, not
//! an empty probe: a random point of a 1 k set spread over China finds nothing within 1 km.
//! So the station set is one fixed stream of draws of the mixture, the *universe* (1 M by
//! default), and a few *query areas* — discs of [`AREA_RADIUS_M`] around centres drawn from
//! the mixture, as many as hold about [`AREA_STATIONS`] of the universe's stations. The table
//! is filled with the universe's stations inside the areas first (the "1 k" set: ≈ 1 000
//! stations, each area exactly as dense as in the universe), then with the universe's other
//! stations (the background, always outside the areas) until it holds N. The timed queries
//! ("areas") lie within [`QUERY_JITTER_M`] of an area's centre, so a query's 1 km disc — and
//! the corners of the `earth_box` the index reads, √2 km out — stay inside its area: at 1 k
//! and at 1 M every query reads the same stations, and only the table and its index differ.
//! The queries "spread" over the mixture are timed too: at 1 M they are the realistic figure
//! (most areas cold in the cache), at 1 k mostly empty probes.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use zhijian_infra::db::StoreError;
use zhijian_infra::db::schema::{stations, unions};
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

/// The universe's size unless told otherwise.
pub const DEFAULT_UNIVERSE: usize = 1_000_000;

/// The radius of a query area, metres.
pub const AREA_RADIUS_M: f64 = 2_000.0;

/// How far from its area's centre a timed query lies at most, metres: the 1 km disc and the
/// corners of its `earth_box` (1 km × √2) stay inside the area.
pub const QUERY_JITTER_M: f64 = 500.0;

/// About how many of the universe's stations the query areas hold together (the "1 k" set).
pub const AREA_STATIONS: usize = 1_000;

/// The universe: the first `universe` draws of the mixture (fixed seed), then the draws
/// after them for a table asked to hold more.
fn stream() -> impl Iterator<Item = (f64, f64)> {
    let counties = counties();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    std::iter::repeat_with(move || draw(&mut rng, &counties))
}

/// Metres between two nearby points (equirectangular; exact enough within a few km).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let dy = (a.0 - b.0) * M_PER_DEG;
    let dx = (a.1 - b.1) * M_PER_DEG * b.0.to_radians().cos();
    dy.hypot(dx)
}

/// The query areas of a universe.
#[derive(Debug, Clone)]
pub struct Areas {
    /// Their centres.
    pub centres: Vec<(f64, f64)>,
    /// The universe's stations inside them, in stream order.
    pub stations: Vec<(f64, f64)>,
}

impl Areas {
    /// Centres drawn from the mixture (fixed seed), apart from each other, until the areas
    /// hold [`AREA_STATIONS`] of the universe's stations (at most 500 areas).
    pub fn of_universe(universe: usize) -> Self {
        let points: Vec<(f64, f64)> = stream().take(universe).collect();
        let counties = counties();
        let mut rng = rand::rngs::StdRng::seed_from_u64(2027);
        let mut centres: Vec<(f64, f64)> = Vec::new();
        let mut held = 0;
        while held < AREA_STATIONS && centres.len() < 500 {
            let centre = draw(&mut rng, &counties);
            if centres
                .iter()
                .any(|c| metres(centre, *c) < 2.0 * AREA_RADIUS_M)
            {
                continue;
            }
            held += points
                .iter()
                .filter(|p| metres(**p, centre) <= AREA_RADIUS_M)
                .count();
            centres.push(centre);
        }
        let mut areas = Self {
            centres,
            stations: Vec::new(),
        };
        areas.stations = points.into_iter().filter(|p| areas.holds(*p)).collect();
        areas
    }

    /// Whether `point` lies in an area.
    pub fn holds(&self, point: (f64, f64)) -> bool {
        self.centres
            .iter()
            .any(|c| metres(point, *c) <= AREA_RADIUS_M)
    }
}

/// Stations in the table.
fn station_count(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(stations::table.count().get_result(conn)?)
}

/// Adds stations until the table holds `target` (owned by the first union): the universe's
/// stations inside the query areas first (all of them, whatever `target`), then the others,
/// in stream order, in batches. Growable: a second call continues the stream. Returns how
/// many were added.
pub fn generate_stations(
    conn: &mut PgConnection,
    target: i64,
    universe: usize,
) -> Result<i64, StoreError> {
    let have = station_count(conn)?;
    let union = unions::table
        .select(diesel::dsl::min(unions::id))
        .first::<Option<i64>>(conn)?
        .ok_or_else(|| StoreError::broken("no union yet: run `zhijian-dev generate` first"))?;
    let areas = Areas::of_universe(universe);
    let in_areas = i64::try_from(areas.stations.len()).unwrap_or(i64::MAX);
    let mut todo: Vec<(f64, f64)> = Vec::new();
    if have == 0 {
        todo.extend(&areas.stations);
    }
    let background_have = usize::try_from((have - in_areas).max(0)).unwrap_or(0);
    let background_wanted = usize::try_from(target - have.max(in_areas)).unwrap_or(0);
    todo.extend(
        stream()
            .filter(|p| !areas.holds(*p))
            .skip(background_have)
            .take(background_wanted),
    );
    let hours: serde_json::Value = serde_json::from_str(
        r#"{"weekly": [{"weekday": 1, "open": 480, "close": 1200}, {"weekday": 2, "open": 480, "close": 1200}, {"weekday": 3, "open": 480, "close": 1200}, {"weekday": 4, "open": 480, "close": 1200}, {"weekday": 5, "open": 480, "close": 1200}, {"weekday": 6, "open": 540, "close": 1080}], "closed_days": []}"#,
    )
    .map_err(|e| StoreError::broken(format!("bench hours: {e}")))?;
    let amenities = vec!["drinking_water".to_owned(), "charging".to_owned()];
    // 8 columns a row: 5 000 rows stay under PostgreSQL's 65 535 bind parameters.
    for (batch_no, batch) in todo.chunks(5_000).enumerate() {
        let rows: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(i, (lat, lng))| {
                (
                    stations::union_id.eq(union),
                    stations::name.eq(format!(
                        "服务站点{}",
                        have as usize + batch_no * 5_000 + i + 1
                    )),
                    stations::kind.eq("service_post"),
                    stations::lat.eq(*lat),
                    stations::lng.eq(*lng),
                    stations::address.eq("地址"),
                    stations::hours.eq(&hours),
                    stations::amenities.eq(&amenities),
                )
            })
            .collect();
        diesel::insert_into(stations::table)
            .values(&rows)
            .execute(conn)?;
    }
    // Diesel has no ANALYZE: the planner needs the new statistics before the timings.
    conn.batch_execute("ANALYZE stations")?;
    Ok(i64::try_from(todo.len()).unwrap_or(i64::MAX))
}

/// Latencies of the search, in microseconds.
#[derive(Debug, Clone)]
pub struct NearbyTimings {
    /// Stations in the table.
    pub stations: i64,
    /// Query areas.
    pub areas: usize,
    /// Queries timed, of each kind.
    pub queries: usize,
    /// Queries in the areas: median.
    pub p50_us: u128,
    /// Queries in the areas: 95th percentile.
    pub p95_us: u128,
    /// Queries in the areas: mean stations answered (the same at every size).
    pub mean_found: f64,
    /// Queries spread over the mixture: median.
    pub spread_p50_us: u128,
    /// Queries spread over the mixture: 95th percentile.
    pub spread_p95_us: u128,
    /// Queries spread over the mixture: mean stations answered.
    pub spread_mean_found: f64,
}

/// Times `queries` "nearest 20 within 1 km" searches (the server's statement, prepared) at
/// `points`, after `queries / 10` untimed warm-up searches: (sorted µs, mean found).
fn time_points(
    conn: &mut PgConnection,
    queries: usize,
    mut points: impl Iterator<Item = (f64, f64)>,
) -> Result<(Vec<u128>, f64), StoreError> {
    let mut times = Vec::with_capacity(queries);
    let mut found = 0usize;
    for i in 0..queries + queries / 10 {
        let Some((lat, lng)) = points.next() else {
            break;
        };
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
    Ok((times, found as f64 / queries.max(1) as f64))
}

/// B7's timings: `queries` searches in the query areas of `universe`, then `queries` spread
/// over the mixture.
pub fn time_nearby(
    conn: &mut PgConnection,
    queries: usize,
    universe: usize,
) -> Result<NearbyTimings, StoreError> {
    let stations = station_count(conn)?;
    let areas = Areas::of_universe(universe);
    let centres = areas.centres.clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let in_areas = (0..).map(move |i: usize| {
        let centre = centres[i % centres.len()];
        let r = QUERY_JITTER_M * rng.random::<f64>().sqrt();
        let angle = std::f64::consts::TAU * rng.random::<f64>();
        let lat = centre.0 + r * angle.sin() / M_PER_DEG;
        let lng = centre.1 + r * angle.cos() / (M_PER_DEG * centre.0.to_radians().cos());
        (lat, lng)
    });
    let (near, mean_found) = time_points(conn, queries, in_areas)?;
    let counties = counties();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let spread = std::iter::repeat_with(move || draw(&mut rng, &counties));
    let (far, spread_mean_found) = time_points(conn, queries, spread)?;
    let at = |times: &[u128], q: f64| {
        times
            .get(((times.len().max(1) as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    Ok(NearbyTimings {
        stations,
        areas: areas.centres.len(),
        queries,
        p50_us: at(&near, 0.5),
        p95_us: at(&near, 0.95),
        mean_found,
        spread_p50_us: at(&far, 0.5),
        spread_p95_us: at(&far, 0.95),
        spread_mean_found,
    })
}
