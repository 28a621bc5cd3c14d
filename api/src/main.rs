//! The `zhijian` command: `serve` (default), `migrate`, `import-regions`, `admin create`,
//! `check-config`.
//! Development commands (the demo county, benchmark data) are in `zhijian-dev` (`devtools/`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use zhijian_api::settings::Settings;
use zhijian_api::startup::Application;
use zhijian_infra::{db::migrations, store::regions};

/// A general-purpose allocator made for long-running multi-threaded servers: glibc's per-thread
/// arenas, fragmented by short-lived blocking threads, let RSS grow with every burst of
/// concurrency (issue 12). `cargo build --no-default-features` keeps the system allocator
/// (for comparison: `scripts/soak.sh`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str =
    "usage: zhijian [serve | migrate | import-regions [--dir DIR] | admin create … | stats … |
                 import … | keys … | partner … | check-config]

  serve            run the HTTP server (applies pending migrations first)
  migrate          apply pending migrations and exit
  import-regions   load China's division codes from DIR (default: regions.dir) into PostgreSQL
  admin create     --union ID --role manager|reviewer|viewer --username U [--display-name NAME]:
                   create an admin (the first one of a federation) and print its one-time
                   password, to be changed at first sign-in
  stats verify     [--union ID]: recount the coverage counters from the base tables, print
                   every difference, exit non-zero when there is one
  stats rebuild    replace the coverage counters with the recount from the base tables
  partner          create --name N --contact C --scopes S,… | rotate --id ID [--overlap-secs N]
                   | disable --id ID: partner clients (a secret is printed once)
  import           members|unions FILE --union ID --as USERNAME [--valid-only] [--yes]
                   [--charset utf-8|gb18030]: check a register (CSV), print the report, and
                   import it after confirmation (or at once with --yes)
  keys             status | add [--blind-index] ID | rotate [--blind-index] ID |
                   retire [--blind-index] ID: the keys of personal data (pii.keyring_file);
                   retire refuses while a row uses the key
  check-config     load and check the configuration, then exit

Development commands (demo data, benchmark data): zhijian-dev --help.

Configuration: config/default.toml, config/$APP_ENV.toml, config/local.toml, then
APP__SECTION__KEY environment variables (e.g. APP__DATABASE__URL). ZHIJIAN_CONFIG_DIR moves
the config folder.";

fn main() -> ExitCode {
    zhijian_api::logging::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
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
    zhijian_api::logging::set_format(settings.log.format);
    let outcome = match command {
        "serve" => serve(settings),
        "migrate" => migrate(&settings),
        "import-regions" => import_regions(&settings, &args[1..]),
        "admin" => zhijian_api::cli_admin::run(&settings, &args[1..]),
        "stats" => zhijian_api::cli_stats::run(&settings, &args[1..]),
        "import" => zhijian_api::cli_import::run(&settings, &args[1..]),
        "keys" => zhijian_api::cli_keys::run(&settings, &args[1..]),
        "partner" => zhijian_api::cli_partner::run(&settings, &args[1..]),
        "check-config" => {
            println!("configuration is valid");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zhijian: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    // The system runtime runs start-up and the background jobs; its blocking pool gets the
    // same bound as the workers' (see `Settings::blocking_threads`) instead of tokio's 512.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(settings.blocking_threads())
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    actix_web::rt::System::with_tokio_rt(move || runtime).block_on(async move {
        let host = settings.server.host.clone();
        let app = Application::build(settings, Duration::from_secs(30))
            .await
            .map_err(|e| e.to_string())?;
        log::info!("zhijian is serving on http://{host}:{}", app.port());
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn connect(settings: &Settings) -> Result<zhijian_infra::db::Connection, String> {
    zhijian_infra::db::connect(&settings.database)
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))
}

fn migrate(settings: &Settings) -> Result<(), String> {
    let mut conn = connect(settings)?;
    let applied = migrations::run_pending(&mut conn).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!("migrations: up to date");
    } else {
        println!("migrations applied: {}", applied.join(", "));
    }
    Ok(())
}

fn import_regions(settings: &Settings, args: &[String]) -> Result<(), String> {
    let dir = match args {
        [] => settings.regions.dir.clone(),
        [flag, dir] if flag == "--dir" => PathBuf::from(dir),
        _ => return Err(format!("import-regions takes only --dir DIR\n\n{USAGE}")),
    };
    let mut conn = connect(settings)?;
    migrations::run_pending(&mut conn).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let report = regions::import_regions(&mut conn, &dir).map_err(|e| e.to_string())?;
    println!(
        "regions: read {} rows from {}, wrote {}, {} in the table ({:.1} s)",
        report.read,
        dir.display(),
        report.written,
        report.total,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
