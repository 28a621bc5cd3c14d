//! B5: a member register of N rows imported through the server's use cases (parse, validate,
//! encrypt, stage with COPY, commit) against a raw `COPY` of the same rows into the same tables
//! in the same run, and the process's peak RSS.
//!
//! Set-up: the demo county (`zhijian-dev seed-demo`); the rows go to 净坛社区联合工会, imported
//! as `wushan-manager`. Each run uses new people (numbered after the members already there).
//! The baseline writes, per row, the account, the approved application, the member and the
//! affiliation the import writes (ciphertexts of the right length, not computed: a raw copy),
//! in one transaction that is rolled back; it is timed up to its last `COPY`.

use std::io::Write;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::ids::UnionId;
use zhijian_domain::import::ImportMode;
use zhijian_infra::crypto::pii::PiiCipher;
use zhijian_infra::db::schema::{accounts, affiliations, applications, members, unions};
use zhijian_infra::usecases::Services;
use zhijian_infra::usecases::imports::{self, Source};

/// The union the rows join.
const UNION: &str = "净坛社区联合工会";

/// B5's figures.
#[derive(Debug, Clone)]
pub struct ImportFigures {
    /// Rows in the file.
    pub rows: i64,
    /// Members written.
    pub committed: i64,
    /// Raw COPY of the same rows (ms).
    pub baseline_ms: u128,
    /// Phase one (ms).
    pub validate_ms: u128,
    /// Phase two (ms).
    pub commit_ms: u128,
    /// Peak RSS of this process (MB).
    pub peak_rss_mb: f64,
}

impl ImportFigures {
    /// One JSON object.
    pub fn json(&self) -> String {
        let import_ms = self.validate_ms + self.commit_ms;
        format!(
            "{{\"rows\": {}, \"committed\": {}, \"baseline_copy_ms\": {}, \"validate_ms\": {}, \"commit_ms\": {}, \"import_ms\": {}, \"ratio\": {:.3}, \"peak_rss_mb\": {:.1}}}",
            self.rows,
            self.committed,
            self.baseline_ms,
            self.validate_ms,
            self.commit_ms,
            import_ms,
            self.baseline_ms as f64 / import_ms.max(1) as f64,
            self.peak_rss_mb
        )
    }
}

/// Peak resident set of this process (VmHWM), MB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn resident_id(n: i64) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1)
        .unwrap_or_default()
        .checked_add_days(chrono::Days::new(u64::try_from(n / 1000).unwrap_or(0)))
        .unwrap_or_default();
    let body = format!("500237{}{:03}", birth.format("%Y%m%d"), n % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", char::from(b"10X98765432"[(sum % 11) as usize]))
}

const GIVEN: [&str; 10] = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇"];

fn name(n: i64) -> String {
    format!(
        "王{}{}",
        GIVEN[(n % 10) as usize],
        GIVEN[((n / 10) % 10) as usize]
    )
}

/// Writes the register: `rows` people numbered from `first`.
fn write_file(path: &std::path::Path, union: i64, first: i64, rows: i64) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "姓名,身份证号,手机号,工会,入会日期,会员编号,职业,工作单位,平台"
    )?;
    for n in first..first + rows {
        writeln!(
            out,
            "{},{},13{:09},{union},2020-05-01,,外卖配送员,巫山某配送站,美团",
            name(n),
            resident_id(n),
            n % 1_000_000_000
        )?;
    }
    out.flush()
}

fn copy_err(e: std::io::Error) -> diesel::result::Error {
    diesel::result::Error::SerializationError(Box::new(e))
}

/// The raw COPY of the same rows (rolled back); its time in ms.
fn baseline(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    union: i64,
    first: i64,
    rows: i64,
) -> Result<u128, String> {
    let rid_cipher = pii
        .encrypt(&resident_id(first), "resident_id")
        .map_err(|e| e.to_string())?
        .to_string();
    let phone_cipher = pii
        .encrypt("13900000000", "phone")
        .map_err(|e| e.to_string())?
        .to_string();
    let index = pii.blind_index("phone", "13900000000");
    let ids =
        |n: i64, salt: u128| uuid::Uuid::from_u128((0xb5u128 << 120) | (salt << 64) | n as u128);
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%:z")
        .to_string();
    let mut elapsed = 0;
    let result = conn.transaction::<(), diesel::result::Error, _>(|conn| {
        let clock = Instant::now();
        diesel::copy_from(accounts::table)
            .from_raw_data(
                (accounts::id, accounts::created_at, accounts::updated_at, accounts::imported),
                |out: &mut dyn Write| {
                    for n in first..first + rows {
                        writeln!(out, "{}\t{now}\t{now}\tt", ids(n, 1)).map_err(copy_err)?;
                    }
                    Ok::<_, diesel::result::Error>(())
                },
            )
            .execute(conn)?;
        diesel::copy_from(applications::table)
            .from_raw_data(
                (
                        applications::id, applications::account_id, applications::person_index,
                        applications::status, applications::version, applications::union_id,
                        applications::routing_rule, applications::routing_explanation,
                        applications::submitted_at, applications::decided_at,
                        applications::name, applications::resident_id_cipher,
                        applications::phone_cipher, applications::phone_index,
                        applications::gender, applications::birth_date,
                        applications::ethnicity, applications::education,
                        applications::political_status, applications::household_type,
                        applications::employment_status, applications::occupation,
                        applications::employer_name, applications::platform,
                        applications::work_region, applications::work_address,
                        applications::privacy_notice_version, applications::consented_at,
                        applications::channel, applications::created_at, applications::updated_at,
                ),
                |out: &mut dyn Write| {
                    for n in first..first + rows {
                        writeln!(
                            out,
                            "{}\t{}\tbench-baseline:{n:064}\tapproved\t1\t{union}\tjoint_union\t批量导入\t{now}\t{now}\t{}\t{rid_cipher}\t{phone_cipher}\t{index}\tmale\t1980-01-01\tother\tjunior_high\tmasses\tnon_agricultural\tflexible\tdelivery_rider\t巫山某配送站\t美团\t500237001009\t未填写\timport\t{now}\timport\t{now}\t{now}",
                            ids(n, 2), ids(n, 1), name(n)
                        )
                        .map_err(copy_err)?;
                    }
                    Ok::<_, diesel::result::Error>(())
                },
            )
            .execute(conn)?;
        diesel::copy_from(members::table)
            .from_raw_data(
                (
                    members::id, members::person_index, members::account_id,
                    members::membership_number, members::union_id, members::name,
                    members::joined_on, members::status, members::version,
                    members::application_id, members::created_at, members::updated_at,
                ),
                |out: &mut dyn Write| {
                    for n in first..first + rows {
                        writeln!(
                            out,
                            "{}\tbench-baseline:{n:064}\t{}\tB{n:015}\t{union}\t{}\t2020-05-01\tactive\t1\t{}\t{now}\t{now}",
                            ids(n, 3), ids(n, 1), name(n), ids(n, 2)
                        )
                        .map_err(copy_err)?;
                    }
                    Ok::<_, diesel::result::Error>(())
                },
            )
            .execute(conn)?;
        diesel::copy_from(affiliations::table)
            .from_raw_data(
                (
                    affiliations::member_id, affiliations::union_id, affiliations::started_at,
                    affiliations::reason, affiliations::membership_number,
                ),
                |out: &mut dyn Write| {
                    for n in first..first + rows {
                        writeln!(out, "{}\t{union}\t2020-05-01 00:00:00+08\timported\tB{n:015}", ids(n, 3))
                            .map_err(copy_err)?;
                    }
                    Ok::<_, diesel::result::Error>(())
                },
            )
            .execute(conn)?;
        elapsed = clock.elapsed().as_millis();
        Err(diesel::result::Error::RollbackTransaction)
    });
    match result {
        Err(diesel::result::Error::RollbackTransaction) => Ok(elapsed),
        Err(e) => Err(format!("baseline COPY: {e}")),
        Ok(()) => Ok(elapsed),
    }
}

/// Runs B5 with `rows` rows (see the module documentation).
pub fn bench_import(
    conn: &mut PgConnection,
    services: Services,
    rows: i64,
) -> Result<ImportFigures, String> {
    let union: i64 = unions::table
        .filter(unions::name.eq(UNION))
        .select(unions::id)
        .first(conn)
        .map_err(|e| format!("{UNION} not found ({e}): run `zhijian-dev seed-demo` first"))?;
    let first: i64 = members::table
        .count()
        .get_result::<i64>(conn)
        .map_err(|e| e.to_string())?
        + 1_000_000;
    let dir = std::env::temp_dir().join(format!("zj-b5-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("register.csv");
    write_file(&file, union, first, rows).map_err(|e| e.to_string())?;
    conn.batch_execute("CHECKPOINT")
        .map_err(|e| e.to_string())?;
    let baseline_ms = baseline(conn, &services.pii, union, first + rows, rows)?;
    conn.batch_execute("CHECKPOINT")
        .map_err(|e| e.to_string())?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (validate_ms, commit_ms, committed) = runtime.block_on(async {
        let county: i64 = unions::table
            .filter(unions::name.eq("巫山县总工会"))
            .select(unions::id)
            .first(conn)
            .map_err(|e| e.to_string())?;
        let importer =
            imports::cli_importer(&services, "wushan-manager".into(), UnionId::new(county))
                .await
                .map_err(|e| e.to_string())?;
        let clock = Instant::now();
        let started = imports::start_member_import(
            &services,
            importer.clone(),
            Source::Path(file.clone()),
            None,
            ImportMode::All,
            false,
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
        let validate_ms = clock.elapsed().as_millis();
        if started.import.status != "validated" || started.import.rows_invalid > 0 {
            return Err(format!(
                "the bench file did not validate: {:?}",
                started.import
            ));
        }
        let clock = Instant::now();
        let done = imports::commit_import(&services, importer, started.import.id, None)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((
            validate_ms,
            clock.elapsed().as_millis(),
            i64::from(done.rows_committed),
        ))
    })?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(ImportFigures {
        rows,
        committed,
        baseline_ms,
        validate_ms,
        commit_ms,
        peak_rss_mb: peak_rss_mb(),
    })
}
