//! `zhijian-dev`: the development commands, kept out of the server's binary and library.
//! `seed-demo` (the demo county, for `make run`), `generate` (benchmark data, for
//! `make bench`), `explain-queue` (the plan of the queue's statement, kept with the bench logs).

use std::process::ExitCode;

use zhijian_api::settings::Settings;
use zhijian_devtools::demo;
use zhijian_domain::routing::UnionKind;
use zhijian_infra::db::migrations;

const USAGE: &str =
    "usage: zhijian-dev [seed-demo | generate --applications N | explain-queue PATH |
                    bench-move --applications N [--batch-size B]]
                    generate-stations N [U] | bench-nearby [QUERIES [U]] |
                    bench-overview [QUERIES] | bench-import --rows N | register-sql PATH [STATUS]]

  seed-demo        build the demo county 巫山县 (500237) and its admin accounts (idempotent);
                   password: demo.admin_password (APP__DEMO__ADMIN_PASSWORD), else a random one
  generate         benchmark data: unions for every county and township, then applications
                   (all states, with members) until the table holds N rows; idempotent, growable
  explain-queue    EXPLAIN (ANALYZE, BUFFERS) of the review queue's first page (20) for the admin
                   of the union at PATH (`/1/2/`): the statement the server runs, executed once
  bench-move       a new joint union of 巫山县 with N applications (N/10 members, an audit row
                   each) moved under another county by the server's move procedure, in batches
                   of B rows (default 5000): prints the move's time, batches and longest
                   transaction, and a `BENCH_JSON {…}` line
  generate-stations
                   B7 data: service stations spread over China (devtools/src/stations.rs):
                   the stations of a universe of U (default 1 000 000) inside the query
                   areas (about 1 000) first, then the others until the table holds N;
                   growable
  bench-nearby     B7: times QUERIES (default 2000) \"nearest 20 within 1 km\" searches in
                   the query areas of universe U (p50_us: the same stations at every size)
                   and as many spread over China (spread_p50_us); prints BENCH_JSON in µs
  bench-overview   B6: times QUERIES (default 300) coverage overviews of the last 90 days at
                   the root with the most members, its busiest city and 巫山县; BENCH_JSON
  bench-import     B5: N member rows imported through the server's use cases (parse, check,
                   encrypt, COPY, commit) against a raw COPY of the same rows into the same
                   tables, with the peak RSS; prints BENCH_JSON (needs seed-demo)
  register-sql     the SELECT the member export reads for the subtree at PATH (`/1/2/`), only
                   STATUS if given: what B5 (bench/export.py) hands to `COPY (…) TO STDOUT`

Configuration as for `zhijian` (config/*.toml, then APP__SECTION__KEY variables).";

fn main() -> ExitCode {
    zhijian_api::logging::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first().map(String::as_str) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if matches!(command, "-h" | "--help" | "help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::load_for_command() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match command {
        "seed-demo" => seed_demo(&settings),
        "generate" => generate(&settings, &args[1..]),
        "explain-queue" => explain_queue(&settings, &args[1..]),
        "bench-move" => bench_move(&settings, &args[1..]),
        "generate-stations" => generate_stations(&settings, &args[1..]),
        "bench-nearby" => bench_nearby(&settings, &args[1..]),
        "bench-overview" => bench_overview(&settings, &args[1..]),
        "bench-import" => bench_import(&settings, &args[1..]),
        "register-sql" => register_sql(&args[1..]),
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zhijian-dev: {message}");
            ExitCode::FAILURE
        }
    }
}

fn connect(settings: &Settings) -> Result<diesel::PgConnection, String> {
    use diesel::Connection;
    diesel::PgConnection::establish(settings.database.url.expose())
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))
}

fn seed_demo(settings: &Settings) -> Result<(), String> {
    let mut conn = connect(settings)?;
    migrations::run_pending(&mut conn).map_err(|e| e.to_string())?;
    let report = demo::seed_demo(&mut conn, Some(&settings.demo.admin_password))
        .map_err(|e| e.to_string())?;
    // Demo admins get (fictional) notice phones, stored encrypted like every phone.
    let pii = zhijian_infra::crypto::pii::PiiCipher::from_config(
        &settings.pii.encryption_keys,
        &settings.pii.blind_index_key,
    )
    .map_err(|e| e.to_string())?;
    demo::seed_demo_phones(&mut conn, &pii).map_err(|e| e.to_string())?;
    // Managers must have a second factor: the demo ones get a known TOTP secret.
    demo::seed_demo_second_factors(&mut conn, &pii).map_err(|e| e.to_string())?;
    let stations =
        demo::seed_demo_stations(&mut conn, report.password.as_ref()).map_err(|e| e.to_string())?;
    let groups = demo::seed_demo_workforce(&mut conn).map_err(|e| e.to_string())?;
    println!("workforce estimates and targets of 巫山县总工会 this year: {groups} groups");
    println!(
        "service stations: {} (净坛社区户外劳动者驿站, 巫山县司机之家), welcome benefits of 巫山县总工会; \
         station staff jingtan-station{}",
        stations.stations.len(),
        if stations.staff_created { " (new)" } else { "" }
    );
    println!(
        "demo county 巫山县 (500237): {} unions ({} new), {} admin accounts ({} new)",
        report.unions.len(),
        report.unions_created(),
        report.admins.len(),
        report.admins_created()
    );
    for union in report
        .unions
        .iter()
        .filter(|u| u.region.len() != 9 || u.kind == UnionKind::Enterprise)
    {
        println!(
            "  union {:>3}  {:<20} {} ({})",
            union.id.get(),
            union.kind.as_str(),
            union.name,
            union.region
        );
    }
    println!("  … and a federation and a joint union for each township and street of 巫山县");
    println!(
        "  employer credit code of {}: {}\n",
        demo::ENTERPRISE_NAME,
        demo::ENTERPRISE_CREDIT_CODE
    );
    let unknown = "(printed at first seed)";
    println!(
        "  {:<22}{:<10}{}password",
        "username",
        "role",
        pad("union", 34)
    );
    for admin in &report.admins {
        let password = match &report.password {
            Some(password) if admin.password_works => password.expose(),
            _ => unknown,
        };
        println!(
            "  {:<22}{:<10}{}{password}",
            admin.username,
            admin.role.as_str(),
            pad(&admin.union_name, 34)
        );
    }
    for admin in report
        .admins
        .iter()
        .filter(|a| a.role.as_str() == "manager")
    {
        println!(
            "\n  {} signs in with a second factor: TOTP secret {} (add it to an authenticator app)",
            admin.username,
            demo::demo_totp_secret(&admin.username).expose_base32()
        );
    }
    if report.admins.iter().any(|a| !a.password_works) {
        println!(
            "\nThese demo accounts already existed with another password than demo.admin_password: it was \
             printed by the seed that created them."
        );
    }
    Ok(())
}

/// `zhijian explain-queue PATH`: the plan of the queue's first page for that subtree.
fn explain_queue(settings: &Settings, args: &[String]) -> Result<(), String> {
    let [path] = args else {
        return Err(format!("explain-queue takes a union path\n\n{USAGE}"));
    };
    let scope = zhijian_domain::admin::UnionPath::parse(path)
        .map_err(|_| format!("not a union path: {path:?}"))?;
    let filter = zhijian_infra::store::applications::QueueFilter {
        limit: 21, // a page of 20 and one to know whether there is more, as the server asks
        ..Default::default()
    };
    let mut conn = connect(settings)?;
    let plan = zhijian_infra::store::applications::explain_queue(
        &mut conn,
        &scope,
        &filter,
        chrono::Utc::now(),
    )
    .map_err(|e| e.to_string())?;
    println!("{}", plan.join("\n"));
    Ok(())
}

/// `zhijian-dev register-sql PATH [STATUS]`: the export's statement, for B5's `COPY` baseline.
fn register_sql(args: &[String]) -> Result<(), String> {
    let (path, status) = match args {
        [path] => (path, None),
        [path, status] => (path, Some(status)),
        _ => {
            return Err(format!(
                "register-sql takes a union path and a status\n\n{USAGE}"
            ));
        }
    };
    let scope = zhijian_domain::admin::UnionPath::parse(path)
        .map_err(|_| format!("not a union path: {path:?}"))?;
    let status = status
        .map(|s| zhijian_domain::member::MemberStatus::parse(s))
        .transpose()
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        zhijian_infra::store::register::select_sql(&scope, status)
    );
    Ok(())
}

/// `zhijian generate --applications N`: see `zhijian_devtools::generator`.
fn generate(settings: &Settings, args: &[String]) -> Result<(), String> {
    let target = match args {
        [flag, n] if flag == "--applications" => n
            .replace('_', "")
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| format!("--applications takes a row count, not {n:?}"))?,
        _ => return Err(format!("generate takes --applications N\n\n{USAGE}")),
    };
    let pii = zhijian_infra::crypto::pii::PiiCipher::from_config(
        &settings.pii.encryption_keys,
        &settings.pii.blind_index_key,
    )
    .map_err(|e| e.to_string())?;
    let mut conn = connect(settings)?;
    migrations::run_pending(&mut conn).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let unions =
        zhijian_devtools::generator::generate_unions(&mut conn).map_err(|e| e.to_string())?;
    println!(
        "unions: {} created, {} in the table ({:.1} s)",
        unions.created,
        unions.total,
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    let report = zhijian_devtools::generator::generate_applications(&mut conn, &pii, target)
        .map_err(|e| e.to_string())?;
    println!(
        "applications: {} before, {} added ({} members){}, {} in the table ({:.1} s)",
        report.before,
        report.added,
        report.members_added,
        if report.reindexed {
            ", secondary indexes rebuilt"
        } else {
            ""
        },
        report.before + report.added,
        started.elapsed().as_secs_f64()
    );
    if !report.steps.is_empty() {
        let steps: Vec<String> = report
            .steps
            .iter()
            .map(|(name, ms)| format!("{name} {:.1} s", *ms as f64 / 1000.0))
            .collect();
        println!("  steps: {}", steps.join(", "));
    }
    Ok(())
}

/// Pads `text` to `columns` terminal columns, counting CJK characters as two.
fn pad(text: &str, columns: usize) -> String {
    let width: usize = text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    format!("{text}{}", " ".repeat(columns.saturating_sub(width).max(1)))
}

fn bench_move(settings: &Settings, args: &[String]) -> Result<(), String> {
    let mut applications = None;
    let mut batch_size = settings.jobs.union_move_batch_size;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} takes a number\n\n{USAGE}"))?;
        match flag.as_str() {
            "--applications" => {
                applications = Some(value.parse::<i64>().map_err(|e| format!("{flag}: {e}"))?);
            }
            "--batch-size" => {
                batch_size = value.parse::<i32>().map_err(|e| format!("{flag}: {e}"))?;
            }
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
        }
    }
    let applications =
        applications.ok_or_else(|| format!("bench-move takes --applications N\n\n{USAGE}"))?;
    if applications < 1 || batch_size < 1 {
        return Err("--applications and --batch-size must be positive".into());
    }
    let mut conn = connect(settings)?;
    let figures = zhijian_devtools::move_bench::bench_move(&mut conn, applications, batch_size)?;
    println!(
        "moved a union with {} applications and {} members: {} rows re-anchored in {} batches of \
         {} in {} ms (first transaction {} ms, longest batch {} ms, listings {:?} ms; loading \
         took {} ms)",
        figures.applications,
        figures.members,
        figures.rows_moved,
        figures.batches,
        figures.batch_size,
        figures.total_ms,
        figures.switch_ms,
        figures.longest_batch_ms,
        figures.collect_ms,
        figures.load_ms
    );
    println!("BENCH_JSON {}", figures.json());
    Ok(())
}

/// `zhijian-dev generate-stations N`: see `zhijian_devtools::stations`.
fn universe(arg: Option<&String>) -> Result<usize, String> {
    match arg {
        None => Ok(zhijian_devtools::stations::DEFAULT_UNIVERSE),
        Some(n) => n
            .replace('_', "")
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("not a universe size: {n:?}")),
    }
}

fn generate_stations(settings: &Settings, args: &[String]) -> Result<(), String> {
    let (n, universe) = match args {
        [n] => (n, universe(None)?),
        [n, u] => (n, universe(Some(u))?),
        _ => {
            return Err(format!(
                "generate-stations takes a station count [and a universe size]\n\n{USAGE}"
            ));
        }
    };
    let target = n
        .replace('_', "")
        .parse::<i64>()
        .map_err(|_| format!("not a count: {n:?}"))?;
    let mut conn = connect(settings)?;
    migrations::run_pending(&mut conn).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let added = zhijian_devtools::stations::generate_stations(&mut conn, target, universe)
        .map_err(|e| e.to_string())?;
    println!(
        "stations: {added} added, asked for {target} (universe {universe}) ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `zhijian-dev bench-nearby [QUERIES [UNIVERSE]]`: B7's timings, as one `BENCH_JSON` line.
fn bench_nearby(settings: &Settings, args: &[String]) -> Result<(), String> {
    let queries = match args.first() {
        None => 2_000,
        Some(n) => n.parse().map_err(|_| format!("not a count: {n:?}"))?,
    };
    if args.len() > 2 {
        return Err(format!(
            "bench-nearby takes a query count and a universe size\n\n{USAGE}"
        ));
    }
    let universe = universe(args.get(1))?;
    let mut conn = connect(settings)?;
    let t = zhijian_devtools::stations::time_nearby(&mut conn, queries, universe)
        .map_err(|e| e.to_string())?;
    println!(
        "BENCH_JSON {{\"stations\": {}, \"universe\": {universe}, \"areas\": {}, \"queries\": {}, \"p50_us\": {}, \"p95_us\": {}, \"mean_found\": {:.2}, \"spread_p50_us\": {}, \"spread_p95_us\": {}, \"spread_mean_found\": {:.2}}}",
        t.stations,
        t.areas,
        t.queries,
        t.p50_us,
        t.p95_us,
        t.mean_found,
        t.spread_p50_us,
        t.spread_p95_us,
        t.spread_mean_found
    );
    Ok(())
}

/// `zhijian-dev bench-overview [QUERIES]`: B6's timings, as one `BENCH_JSON` line.
fn bench_overview(settings: &Settings, args: &[String]) -> Result<(), String> {
    let queries = match args {
        [] => 300,
        [n] => n.parse().map_err(|_| format!("not a count: {n:?}"))?,
        _ => return Err(format!("bench-overview takes a query count\n\n{USAGE}")),
    };
    let mut conn = connect(settings)?;
    let timings = zhijian_devtools::coverage_bench::time_overview(&mut conn, queries)
        .map_err(|e| e.to_string())?;
    let levels: Vec<String> = timings
        .iter()
        .map(|t| {
            format!(
                "\"{}\": {{\"union_id\": {}, \"children\": {}, \"p50_us\": {}, \"p95_us\": {}}}",
                t.level, t.union_id, t.children, t.p50_us, t.p95_us
            )
        })
        .collect();
    println!(
        "BENCH_JSON {{\"queries\": {queries}, {}}}",
        levels.join(", ")
    );
    Ok(())
}

/// `zhijian-dev bench-import --rows N`: B5, as one `BENCH_JSON` line.
fn bench_import(settings: &Settings, args: &[String]) -> Result<(), String> {
    let rows = match args {
        [flag, n] if flag == "--rows" => n.parse::<i64>().map_err(|e| format!("--rows: {e}"))?,
        _ => return Err(format!("bench-import takes --rows N\n\n{USAGE}")),
    };
    if rows < 1 {
        return Err("--rows must be positive".into());
    }
    let mut conn = connect(settings)?;
    let pii = zhijian_infra::crypto::pii::PiiCipher::from_config(
        &settings.pii.encryption_keys,
        &settings.pii.blind_index_key,
    )
    .map_err(|e| e.to_string())?;
    let services = zhijian_infra::usecases::Services {
        pool: zhijian_infra::db::build_pool(&settings.database),
        pii: std::sync::Arc::new(pii),
        reference: std::sync::Arc::new(zhijian_infra::store::reference_cache::ReferenceCache::new(
            std::time::Duration::from_secs(60),
        )),
        clock: std::sync::Arc::new(zhijian_infra::usecases::SystemClock),
    };
    let figures = zhijian_devtools::import_bench::bench_import(&mut conn, services, rows)?;
    println!("BENCH_JSON {}", figures.json());
    Ok(())
}
