//! `zhijian partner create|rotate|disable`: partner clients from the server's command line,
//! through the same use cases as `/v1/admin/partners` (audited as the system,
//! `command-line`). A secret is printed once.

use std::sync::Arc;

use uuid::Uuid;
use zhijian_domain::partner::{ClientText, Scopes, SecretOverlap};
use zhijian_infra::crypto::pii::PiiCipher;
use zhijian_infra::usecases::partners::{self, ClientManager, ClientWithSecret, NewClient};
use zhijian_infra::usecases::{Services, SystemClock};

use crate::settings::Settings;

/// Usage of `zhijian partner`.
pub const USAGE: &str = "usage:
  zhijian partner create --name NAME --contact CONTACT --scopes SCOPE[,SCOPE…]
  zhijian partner rotate --id CLIENT_ID [--overlap-secs N]   (default 86400)
  zhijian partner disable --id CLIENT_ID
scopes: applications:write, applications:read, members:verify, webhooks:manage";

enum Command {
    Create(NewClient),
    Rotate(Uuid, SecretOverlap),
    Disable(Uuid),
}

/// Runs `zhijian partner ARGS…`; the message of an `Err` is for the operator.
pub fn run(settings: &Settings, args: &[String]) -> Result<(), String> {
    let command = parse(args)?;
    let pii = PiiCipher::from_config(&settings.pii.encryption_keys, &settings.pii.blind_index_key)
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
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
        let manager = ClientManager::CommandLine;
        let explain = |e: partners::ClientError| format!("cannot change the partner client: {e}");
        match command {
            Command::Create(new) => {
                let created = partners::create_client(&services, manager, new)
                    .await
                    .map_err(explain)?;
                print_secret("created", &created);
            }
            Command::Rotate(id, overlap) => {
                let rotated = partners::rotate_secret(&services, manager, id, None, overlap)
                    .await
                    .map_err(explain)?;
                print_secret("rotated", &rotated);
                if let Some(until) = rotated.client.previous_secret_expires_at {
                    println!("the previous secret stays valid until {until}");
                }
            }
            Command::Disable(id) => {
                partners::set_client_disabled(&services, manager, id, None, true)
                    .await
                    .map_err(explain)?;
                println!("partner client {id} disabled; its tokens are refused from now on");
            }
        }
        Ok(())
    })
}

fn print_secret(what: &str, client: &ClientWithSecret) {
    println!(
        "partner client {} {what}: {}",
        client.client.name, client.client.id
    );
    println!("client_id: {}", client.client.id);
    println!("client_secret (shown once): {}", client.secret.expose());
}

fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, flags)) = args.split_first() else {
        return Err(USAGE.to_owned());
    };
    let mut values = std::collections::HashMap::new();
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let name = flag
            .strip_prefix("--")
            .filter(|n| ["name", "contact", "scopes", "id", "overlap-secs"].contains(n))
            .ok_or_else(|| format!("unknown flag {flag:?}\n\n{USAGE}"))?;
        let value = flags
            .next()
            .ok_or_else(|| format!("--{name} needs a value"))?;
        values.insert(name, value.clone());
    }
    let get = |name: &str| {
        values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is required\n\n{USAGE}"))
    };
    let id = || {
        get("id")
            .and_then(|v| Uuid::parse_str(&v).map_err(|_| format!("--id {v:?} is not a client id")))
    };
    match command.as_str() {
        "create" => Ok(Command::Create(NewClient {
            name: ClientText::parse(&get("name")?).map_err(|e| format!("--name: {e}"))?,
            contact: ClientText::parse(&get("contact")?).map_err(|e| format!("--contact: {e}"))?,
            scopes: Scopes::parse(get("scopes")?.split(',').map(str::trim))
                .map_err(|e| format!("--scopes: {e}"))?,
        })),
        "rotate" => {
            let secs = values
                .get("overlap-secs")
                .map_or(Ok(86_400), |v| v.parse::<i64>())
                .map_err(|_| "--overlap-secs must be a number of seconds".to_owned())?;
            let overlap = SecretOverlap::from_secs(secs).map_err(|e| e.to_string())?;
            Ok(Command::Rotate(id()?, overlap))
        }
        "disable" => Ok(Command::Disable(id()?)),
        other => Err(format!("unknown partner command {other:?}\n\n{USAGE}")),
    }
}
