//! `zhijian import members|unions FILE --union ID --as USERNAME [--valid-only] [--yes]
//! [--charset utf-8|gb18030]`: the same two phases as `POST /v1/admin/imports`, from a file on
//! the server (no size limit: the file is streamed). Phase one shows a progress bar on a
//! terminal and prints the report; phase two commits after a confirmation, or at once with
//! `--yes`. Audited as the manager named by `--as`, from the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use zhijian_domain::ids::UnionId;
use zhijian_domain::import::{ImportKind, ImportMode};
use zhijian_infra::usecases::imports::{self, Charset, ImportRow, Source};
use zhijian_infra::usecases::{Services, SystemClock};

use crate::settings::Settings;

/// Usage of `zhijian import`.
pub const USAGE: &str = "usage: zhijian import members|unions FILE --union ID --as USERNAME [--valid-only] [--yes] [--charset utf-8|gb18030]";

struct Args {
    kind: ImportKind,
    file: PathBuf,
    union: UnionId,
    username: String,
    mode: ImportMode,
    yes: bool,
    charset: Option<Charset>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let [kind, file, flags @ ..] = args else {
        return Err(USAGE.to_owned());
    };
    let kind = ImportKind::parse(kind).map_err(|_| format!("unknown kind {kind:?}\n\n{USAGE}"))?;
    let (mut union, mut username, mut mode, mut yes, mut charset) =
        (None, None, ImportMode::All, false, None);
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--valid-only" => mode = ImportMode::ValidOnly,
            "--yes" => yes = true,
            "--union" | "--as" | "--charset" => {
                let value = flags
                    .next()
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--union" => {
                        union =
                            Some(value.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(
                                || format!("--union must be a union id, not {value:?}"),
                            )?);
                    }
                    "--as" => username = Some(value.clone()),
                    _ => {
                        charset = Some(Charset::parse(value).ok_or_else(|| {
                            format!("--charset must be utf-8 or gb18030, not {value:?}")
                        })?);
                    }
                }
            }
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
        }
    }
    Ok(Args {
        kind,
        file: PathBuf::from(file),
        union: UnionId::new(union.ok_or_else(|| format!("--union is required\n\n{USAGE}"))?),
        username: username.ok_or_else(|| format!("--as is required\n\n{USAGE}"))?,
        mode,
        yes,
        charset,
    })
}

fn summary(row: &ImportRow) -> String {
    format!(
        "import {}: {} — {} rows, {} valid, {} with errors, {} notes{}",
        row.id,
        row.status,
        row.rows_total,
        row.rows_valid,
        row.rows_invalid,
        row.warnings,
        row.failure
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default()
    )
}

/// Runs `zhijian import ARGS…`; the message of an `Err` is for the operator.
pub fn run(settings: &Settings, args: &[String]) -> Result<(), String> {
    let args = parse(args)?;
    if !args.file.is_file() {
        return Err(format!("{} is not a readable file", args.file.display()));
    }
    let pii = settings.pii_cipher()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let services = Services {
            pool: zhijian_infra::db::build_pool(&settings.database),
            pii: Arc::new(pii),
            reference: Arc::new(zhijian_infra::store::reference_cache::ReferenceCache::new(
                std::time::Duration::from_secs(60),
            )),
            clock: Arc::new(SystemClock),
        };
        let importer = imports::cli_importer(&services, args.username.clone(), args.union)
            .await
            .map_err(|e| format!("cannot import as {}: {e}", args.username))?;
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} rows checked ({per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let ticker = bar.clone();
        let progress: imports::Progress = Arc::new(move |n| ticker.set_position(n));
        let source = Source::Path(args.file.clone());
        let started = match args.kind {
            ImportKind::Members => {
                imports::start_member_import(
                    &services,
                    importer.clone(),
                    source,
                    args.charset,
                    args.mode,
                    false,
                    Some(progress),
                )
                .await
            }
            ImportKind::Unions => {
                imports::start_union_import(
                    &services,
                    importer.clone(),
                    source,
                    args.charset,
                    args.mode,
                )
                .await
            }
        }
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
        bar.finish_and_clear();
        let import = started.import;
        if started.existing {
            println!("this file was sent before; its import is:");
        }
        println!("{}", summary(&import));
        let (_, problems) =
            imports::import_report(&services, importer.admin.union_path.clone(), import.id)
                .await
                .map_err(|e| e.to_string())?;
        for p in &problems {
            let level = if p.severity == "error" {
                "错误"
            } else {
                "提示"
            };
            println!(
                "  第{}行 {} {level} {}：{}",
                p.line, p.column_name, p.code, p.message
            );
        }
        if import.status != "validated" {
            return Err(format!("nothing to commit ({})", import.status));
        }
        if args.mode == ImportMode::All && import.rows_invalid > 0 {
            return Err(
                "rows with errors: nothing imported (fix them, or pass --valid-only)".to_owned(),
            );
        }
        if !args.yes && !confirm(import.rows_valid)? {
            println!(
                "not committed; commit later with POST /v1/admin/imports/{}/commit",
                import.id
            );
            return Ok(());
        }
        let done = imports::commit_import(&services, importer, import.id, Some(args.mode))
            .await
            .map_err(|e| format!("commit refused: {e}"))?;
        println!("committed: {} rows written", done.rows_committed);
        Ok(())
    })
}

fn confirm(rows: i32) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    print!("import {rows} rows? [y/N] ");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_options_are_parsed_and_checked() {
        let a = parse(&args(
            "members f.csv --union 7 --as boss --valid-only --yes",
        ))
        .unwrap();
        assert_eq!(
            (a.kind, a.mode, a.yes),
            (ImportKind::Members, ImportMode::ValidOnly, true)
        );
        for bad in [
            "",
            "members",
            "people f.csv --union 7 --as x",
            "members f.csv --as x",
            "members f.csv --union x --as y",
            "members f.csv --union 7 --as y --colour red",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
