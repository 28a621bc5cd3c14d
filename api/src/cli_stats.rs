//! `zhijian stats verify [--union ID]` and `zhijian stats rebuild`: the reconciliation of the
//! coverage counters with the base tables. `verify` recounts every counter from applications,
//! members, transfers and their histories, prints each difference and exits non-zero when
//! there is one; `rebuild` replaces the counters with the recount (after rows were loaded
//! directly, as the benchmark generator does).

use std::sync::Arc;

use zhijian_domain::ids::UnionId;
use zhijian_infra::usecases::{Services, SystemClock, stats};

use crate::settings::Settings;

/// Usage of `zhijian stats`.
pub const USAGE: &str = "usage: zhijian stats verify [--union ID] | zhijian stats rebuild";

/// Runs `zhijian stats ARGS…`; the message of an `Err` is for the operator (a verification
/// that found differences is an `Err` too, after printing them).
pub fn run(settings: &Settings, args: &[String]) -> Result<(), String> {
    let command = parse(args)?;
    let pii = settings.pii_cipher()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        // A recount reads every base table: minutes, not the server's seconds.
        let mut database = settings.database.clone();
        database.statement_timeout_ms = database.statement_timeout_ms.max(3_600_000);
        let services = Services {
            pool: zhijian_infra::db::build_pool(&database),
            pii: Arc::new(pii),
            reference: Arc::new(zhijian_infra::store::reference_cache::ReferenceCache::new(
                std::time::Duration::from_secs(60),
            )),
            clock: Arc::new(SystemClock),
        };
        match command {
            Command::Verify(union) => {
                let found = stats::verify_counters(&services, union)
                    .await
                    .map_err(|e| format!("cannot verify the counters: {e}"))?;
                for d in &found {
                    let day = d.day.map_or_else(|| "-".to_owned(), |day| day.to_string());
                    println!(
                        "union {} day {day} group {} {}: kept {} recounted {}",
                        d.union_id, d.occupation, d.counter, d.kept, d.recounted
                    );
                }
                if found.is_empty() {
                    println!("counters agree with the base tables");
                    Ok(())
                } else {
                    Err(format!("{} differences", found.len()))
                }
            }
            Command::Rebuild => {
                let (daily, active) = stats::rebuild_counters(&services)
                    .await
                    .map_err(|e| format!("cannot rebuild the counters: {e}"))?;
                println!("counters rebuilt: {daily} daily rows, {active} active-member rows");
                Ok(())
            }
        }
    })
}

enum Command {
    Verify(Option<UnionId>),
    Rebuild,
}

fn parse(args: &[String]) -> Result<Command, String> {
    match args {
        [c] if c == "verify" => Ok(Command::Verify(None)),
        [c, flag, id] if c == "verify" && flag == "--union" => id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(|id| Command::Verify(Some(UnionId::new(id))))
            .ok_or_else(|| format!("--union takes a union id\n\n{USAGE}")),
        [c] if c == "rebuild" => Ok(Command::Rebuild),
        _ => Err(USAGE.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_takes_an_optional_union() {
        let args = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(matches!(
            parse(&args(&["verify"])),
            Ok(Command::Verify(None))
        ));
        assert!(matches!(
            parse(&args(&["verify", "--union", "7"])),
            Ok(Command::Verify(Some(_)))
        ));
        assert!(parse(&args(&["verify", "--union", "x"])).is_err());
        assert!(matches!(parse(&args(&["rebuild"])), Ok(Command::Rebuild)));
        assert!(parse(&args(&[])).is_err());
    }
}
