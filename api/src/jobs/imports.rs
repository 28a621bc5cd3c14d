//! At start-up, once: imports an earlier run of the server left half-way
//! (`infra::usecases::imports::recover_interrupted`): validating → failed (send the file
//! again), committing → validated (the commit's transaction did not happen).

use zhijian_infra::usecases::{Services, imports};

/// Runs before the server accepts requests (so it never touches an import of this run).
pub async fn recover_imports(services: &Services) {
    match imports::recover_interrupted(services).await {
        Ok(0) => {}
        Ok(n) => log::warn!(imports = n; "interrupted imports recovered"),
        Err(e) => log::warn!("interrupted imports not recovered: {e}"),
    }
}
