//! Managing the union tree.

pub mod close;
pub mod moving;

use zhijian_domain::admin::AdminRole;
use zhijian_domain::union_change::{self, MayNotReorganise};

use crate::store::applications::AdminActor;

/// Whether `admin`'s role may close and move unions.
fn may_reorganise(admin: &AdminActor) -> Result<(), MayNotReorganise> {
    let role = AdminRole::parse(admin.role).map_err(|_| MayNotReorganise)?;
    union_change::may_reorganise(role)
}
