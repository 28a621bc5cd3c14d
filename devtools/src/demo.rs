//! The demo county: 巫山县 (500237), built from the real region rows, for `make run` and for
//! tests that want a realistic union tree.
//!
//! ```text
//! 重庆市总工会 (federation, 50)                       root: parent escalation has somewhere to go
//! └─ 巫山县总工会 (federation, 500237)
//!    ├─ 巫山县临时库 (pool, 500237)
//!    ├─ 巫山县快递行业工会联合会 (industry_federation [courier])
//!    ├─ 巫山县外卖配送行业工会联合会 (industry_federation [delivery_rider])
//!    ├─ 巫山县网约车行业工会联合会 (industry_federation [ride_hailing_driver])
//!    └─ for each of the 26 townships and streets, in code order:
//!       <乡镇街道>总工会 (federation, township)
//!       ├─ <乡镇街道>联合工会 (joint, township)         rule 3 catches every township
//!       └─ <村社区>联合工会 (joint, village)            a handful: 净坛社区, 神女社区, 和平村, …
//! 高唐街道总工会 also holds 重庆巫山演示物流有限公司工会 (enterprise, 500237001).
//! ```
//!
//! Admins (one shared demo password, argon2id-hashed, never stored in clear): a manager and a
//! viewer at 巫山县总工会, reviewers at 高唐街道总工会, 净坛社区联合工会 and each industry
//! federation, and `pool-reviewer`. The pool reviewer is bound to **巫山县总工会, the pool's
//! owner**, not to the pool: assigning moves an application from the pool to another union of
//! the county, and an admin acts only inside their subtree, so only an admin of the federation
//! reaches both the pool and every union it may assign to.
//!
//! [`seed_demo`] is idempotent: every union is found by (parent, kind, name, region) and every
//! admin by username before anything is created, in one transaction under an advisory lock, so
//! a second run creates nothing and reports the same tree and accounts (and a newer version of
//! this list only adds what is missing).

use diesel::pg::PgConnection;
use diesel::prelude::*;
use rand::Rng;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::admin_management::{DisplayName, Username};
use zhijian_domain::credit_code::CreditCode;
use zhijian_domain::ids::{AdminId, UnionId};
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::UnionKind;
use zhijian_domain::station::Amenity;

use zhijian_domain::deadline::ReviewHours;
use zhijian_domain::second_factor;
use zhijian_domain::union_admin::{UnionDraft, UnionName};
use zhijian_infra::crypto::password;
use zhijian_infra::crypto::secret::Secret;
use zhijian_infra::crypto::totp::{SECRET_BYTES, TotpSecret};
use zhijian_infra::db::StoreError;
use zhijian_infra::db::schema::{admins, unions};
use zhijian_infra::store::reference_cache::ReferenceCache;
use zhijian_infra::store::regions::{self, RegionRow};
use zhijian_infra::store::unions::UnionRow;
use zhijian_infra::usecases::admins::{
    CreateAdminError, Creator, InitialPassword, NewAdmin, NewStationStaff, create_admin_in,
    create_station_staff_in,
};
use zhijian_infra::usecases::auth::second_factor::enrol_known_secret;
use zhijian_infra::usecases::unions::{By, CreateUnionError, create_union_in};

/// The demo county: 巫山县.
pub const COUNTY: &str = "500237";

/// The province above it, root of the demo tree: 重庆市.
pub const PROVINCE: &str = "50";

/// The unified social credit code of the demo enterprise (registered in 巫山县, valid check
/// character; a made-up organisation code, not a real company).
pub const ENTERPRISE_CREDIT_CODE: &str = "91500237MA60DEM01F";

/// The demo enterprise union.
pub const ENTERPRISE_NAME: &str = "重庆巫山演示物流有限公司工会";

/// Where the demo enterprise works: 高唐街道.
const ENTERPRISE_TOWNSHIP: &str = "500237001";

/// Villages and communities that get a joint union of their own (the rest fall to their
/// township's joint union): 净坛社区 and 神女社区 of 高唐街道, 骡坪场镇社区 and 和平村 of 骡坪镇.
pub const COMMUNITIES: [&str; 4] = [
    "500237001009",
    "500237001004",
    "500237107001",
    "500237107231",
];

/// The industry federations of the county and the group each serves.
const INDUSTRY_FEDERATIONS: [(&str, OccupationGroup); 3] = [
    ("快递行业工会联合会", OccupationGroup::Courier),
    ("外卖配送行业工会联合会", OccupationGroup::DeliveryRider),
    ("网约车行业工会联合会", OccupationGroup::RideHailingDriver),
];

/// Serialises concurrent seeds (two `make run`s at once).
const DEMO_LOCK: i64 = 0x7a_68_69_6a_64_65_6d;

/// Which union of the tree an admin is bound to.
#[derive(Debug, Clone, Copy)]
enum Seat {
    CountyFederation,
    Township(&'static str),
    Community(&'static str),
    Industry(OccupationGroup),
}

/// The demo accounts: username, role, union, display name.
const ADMINS: [(&str, AdminRole, Seat, &str); 8] = [
    (
        "wushan-manager",
        AdminRole::Manager,
        Seat::CountyFederation,
        "巫山县总工会管理员",
    ),
    (
        "wushan-viewer",
        AdminRole::Viewer,
        Seat::CountyFederation,
        "巫山县总工会查看员",
    ),
    (
        "pool-reviewer",
        AdminRole::Reviewer,
        Seat::CountyFederation,
        "巫山县临时库审核员",
    ),
    (
        "gaotang-reviewer",
        AdminRole::Reviewer,
        Seat::Township("500237001"),
        "高唐街道总工会审核员",
    ),
    (
        "jingtan-reviewer",
        AdminRole::Reviewer,
        Seat::Community("500237001009"),
        "净坛社区联合工会审核员",
    ),
    (
        "courier-reviewer",
        AdminRole::Reviewer,
        Seat::Industry(OccupationGroup::Courier),
        "快递行业工会审核员",
    ),
    (
        "delivery-reviewer",
        AdminRole::Reviewer,
        Seat::Industry(OccupationGroup::DeliveryRider),
        "外卖配送行业工会审核员",
    ),
    (
        "ridehailing-reviewer",
        AdminRole::Reviewer,
        Seat::Industry(OccupationGroup::RideHailingDriver),
        "网约车行业工会审核员",
    ),
];

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The region rows the tree is built from are not loaded.
    #[error("region {0} is not in the regions table: run `zhijian import-regions` first")]
    RegionsMissing(String),
    /// A demo admin could not be created (a configured password that misses the policy, …).
    #[error("demo admin {username}: {source}")]
    Admin {
        /// The account.
        username: &'static str,
        /// Why.
        source: CreateAdminError,
    },
    /// A demo union could not be created (a rule of the union tree refused it).
    #[error("demo union {name}: {source}")]
    Union {
        /// The union.
        name: String,
        /// Why.
        source: CreateUnionError,
    },
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for DemoError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(error.into())
    }
}

/// One union of the demo tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUnion {
    /// Its id.
    pub id: UnionId,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: UnionKind,
    /// The region it serves.
    pub region: String,
    /// Whether this run created it (false: it was already there).
    pub created: bool,
}

/// One demo admin account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAdmin {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: AdminRole,
    /// The union the role is bound to.
    pub union_id: UnionId,
    /// That union's name.
    pub union_name: String,
    /// Whether this run created the account.
    pub created: bool,
    /// Whether [`DemoReport::password`] opens this account.
    pub password_works: bool,
}

/// What [`seed_demo`] built or found.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Every union of the demo tree, in creation (id) order.
    pub unions: Vec<DemoUnion>,
    /// Every demo admin, in the order of the list above.
    pub admins: Vec<DemoAdmin>,
    /// The demo password, when known: the one accounts were created with in this run, or the
    /// configured one when it opens the existing accounts. `None` when all accounts existed and
    /// no configured password opens them (it was printed when they were created).
    pub password: Option<Secret>,
}

impl DemoReport {
    /// Unions created by this run.
    pub fn unions_created(&self) -> usize {
        self.unions.iter().filter(|u| u.created).count()
    }

    /// Admins created by this run.
    pub fn admins_created(&self) -> usize {
        self.admins.iter().filter(|a| a.created).count()
    }

    /// The id of the demo union called `name`.
    pub fn union_named(&self, name: &str) -> Option<UnionId> {
        self.unions.iter().find(|u| u.name == name).map(|u| u.id)
    }
}

/// Builds the demo county (see the module documentation), or finds it built; one transaction.
///
/// `password` is the shared password of new demo accounts (`[demo] admin_password`); when it is
/// `None` and an account has to be created, a random one is generated and returned in the
/// report, the only place it ever appears in clear.
pub fn seed_demo(
    conn: &mut PgConnection,
    password: Option<&Secret>,
) -> Result<DemoReport, DemoError> {
    conn.transaction(|conn| {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({DEMO_LOCK})")).execute(conn)?;
        let mut seeder = Seeder {
            unions: Vec::new(),
            reference: ReferenceCache::new(std::time::Duration::from_secs(60)),
        };
        let tree = seeder.build_tree(conn)?;
        let admins = seed_admins(conn, &tree, password)?;
        Ok(DemoReport {
            unions: seeder.unions,
            admins: admins.0,
            password: admins.1,
        })
    })
}

/// The ids admins are bound to.
struct Tree {
    county: UnionRow,
    townships: Vec<UnionRow>,
    communities: Vec<(String, UnionRow)>,
    industries: Vec<(OccupationGroup, UnionRow)>,
}

impl Tree {
    fn seat(&self, seat: Seat) -> Option<&UnionRow> {
        match seat {
            Seat::CountyFederation => Some(&self.county),
            Seat::Township(code) => self.townships.iter().find(|u| u.region_code == code),
            Seat::Community(code) => self
                .communities
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, u)| u),
            Seat::Industry(group) => self
                .industries
                .iter()
                .find(|(g, _)| *g == group)
                .map(|(_, u)| u),
        }
    }
}

struct Seeder {
    unions: Vec<DemoUnion>,
    /// Region look-ups of the union use case.
    reference: ReferenceCache,
}

impl Seeder {
    fn build_tree(&mut self, conn: &mut PgConnection) -> Result<Tree, DemoError> {
        let province = region(conn, PROVINCE)?;
        let county = region(conn, COUNTY)?;
        let townships = regions::children(conn, COUNTY)?;
        if townships.is_empty() {
            return Err(DemoError::RegionsMissing(format!("{COUNTY}'s townships")));
        }

        let root = self.ensure(
            conn,
            None,
            UnionKind::Federation,
            format!("{}总工会", province.name),
            &province,
            None,
            &[],
        )?;
        let county_federation = self.ensure(
            conn,
            Some(&root),
            UnionKind::Federation,
            format!("{}总工会", county.name),
            &county,
            None,
            &[],
        )?;
        let parent = Some(&county_federation);
        self.ensure(
            conn,
            parent,
            UnionKind::Pool,
            format!("{}临时库", county.name),
            &county,
            None,
            &[],
        )?;
        let mut industries = Vec::new();
        for (suffix, group) in INDUSTRY_FEDERATIONS {
            let name = format!("{}{suffix}", county.name);
            let union = self.ensure(
                conn,
                parent,
                UnionKind::IndustryFederation,
                name,
                &county,
                None,
                &[group],
            )?;
            industries.push((group, union));
        }

        let mut township_federations = Vec::new();
        let mut communities = Vec::new();
        for township in &townships {
            let federation = self.ensure(
                conn,
                parent,
                UnionKind::Federation,
                format!("{}总工会", township.name),
                township,
                None,
                &[],
            )?;
            let here = Some(&federation);
            self.ensure(
                conn,
                here,
                UnionKind::Joint,
                format!("{}联合工会", township.name),
                township,
                None,
                &[],
            )?;
            for code in COMMUNITIES.iter().filter(|c| c.starts_with(&township.code)) {
                let village = region(conn, code)?;
                let name = format!("{}联合工会", short_name(&village.name));
                let union = self.ensure(conn, here, UnionKind::Joint, name, &village, None, &[])?;
                communities.push(((*code).to_owned(), union));
            }
            township_federations.push(federation);
        }

        let enterprise_township = township_federations
            .iter()
            .find(|u| u.region_code == ENTERPRISE_TOWNSHIP)
            .ok_or_else(|| DemoError::RegionsMissing(ENTERPRISE_TOWNSHIP.to_owned()))?;
        let code = CreditCode::parse(ENTERPRISE_CREDIT_CODE)
            .map_err(|e| StoreError::broken(format!("demo credit code: {e}")))?;
        let township = region(conn, ENTERPRISE_TOWNSHIP)?;
        self.ensure(
            conn,
            Some(enterprise_township),
            UnionKind::Enterprise,
            ENTERPRISE_NAME.to_owned(),
            &township,
            Some(code),
            &[],
        )?;

        Ok(Tree {
            county: county_federation,
            townships: township_federations,
            communities,
            industries,
        })
    }

    /// Finds the union with this parent, kind, name and region, or creates it.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call per node of a literal tree reads best flat"
    )]
    fn ensure(
        &mut self,
        conn: &mut PgConnection,
        parent: Option<&UnionRow>,
        kind: UnionKind,
        name: String,
        region: &RegionRow,
        credit_code: Option<CreditCode>,
        occupations: &[OccupationGroup],
    ) -> Result<UnionRow, DemoError> {
        let mut query = unions::table
            .filter(unions::kind.eq(kind.as_str()))
            .filter(unions::name.eq(&name))
            .filter(unions::region_code.eq(&region.code))
            .select(UnionRow::as_select())
            .order(unions::id.asc())
            .into_boxed();
        query = match parent {
            Some(parent) => query.filter(unions::parent_id.eq(parent.id)),
            None => query.filter(unions::parent_id.is_null()),
        };
        let (row, created) = match query.first::<UnionRow>(conn).optional()? {
            Some(row) => (row, false),
            None => {
                // Through the use case the API calls: the same rules, the same audit row.
                let refused = |source: CreateUnionError| DemoError::Union {
                    name: name.clone(),
                    source,
                };
                let draft = UnionDraft {
                    name: UnionName::parse(&name).map_err(|e| refused(e.into()))?,
                    kind,
                    region: RegionCode::parse(&region.code)
                        .map_err(|e| StoreError::broken(format!("region {}: {e}", region.code)))?,
                    coverage: Vec::new(),
                    occupations: occupations.to_vec(),
                    credit_code,
                    review_hours: ReviewHours::DEFAULT,
                };
                let parent = parent.map(UnionRow::union_id);
                let now = chrono::Utc::now();
                let created =
                    create_union_in(conn, &self.reference, By::System, parent, draft, now)
                        .map_err(refused)?;
                (created.union, true)
            }
        };
        self.unions.push(DemoUnion {
            id: row.union_id(),
            name: row.name.clone(),
            kind,
            region: row.region_code.clone(),
            created,
        });
        Ok(row)
    }
}

/// The region row, or [`DemoError::RegionsMissing`].
fn region(conn: &mut PgConnection, code: &str) -> Result<RegionRow, DemoError> {
    regions::find(conn, code)?.ok_or_else(|| DemoError::RegionsMissing(code.to_owned()))
}

/// "净坛社区居民委员会" → "净坛社区", "和平村村民委员会" → "和平村".
fn short_name(name: &str) -> &str {
    name.strip_suffix("居民委员会")
        .or_else(|| name.strip_suffix("村民委员会"))
        .unwrap_or(name)
}

/// Creates the missing demo admins; reports all of them and the password that opens them.
fn seed_admins(
    conn: &mut PgConnection,
    tree: &Tree,
    configured: Option<&Secret>,
) -> Result<(Vec<DemoAdmin>, Option<Secret>), DemoError> {
    let configured = configured.filter(|p| !p.is_empty());
    let mut generated: Option<Secret> = None;
    let mut report = Vec::new();
    for (username, role, seat, display_name) in ADMINS {
        let union = tree.seat(seat).ok_or_else(|| {
            StoreError::broken(format!("demo seat of {username} is not in the tree"))
        })?;
        let existing = admins::table
            .inner_join(unions::table)
            .filter(admins::username.eq(username))
            .select((
                admins::role,
                admins::union_id,
                unions::name,
                admins::password_hash,
            ))
            .first::<(String, i64, String, String)>(conn)
            .optional()?;
        let admin = match existing {
            Some((stored_role, union_id, union_name, hash)) => DemoAdmin {
                username: username.to_owned(),
                role: AdminRole::parse(&stored_role)
                    .map_err(|_| StoreError::broken(format!("admin {username} has a bad role")))?,
                union_id: UnionId::new(union_id),
                union_name,
                created: false,
                password_works: configured
                    .is_some_and(|p| password::verify_password(p.expose(), &hash)),
            },
            None => {
                let password: &Secret = match configured {
                    Some(password) => password,
                    None => generated.get_or_insert_with(generate_password),
                };
                // The same use case as `POST /v1/admin/admins` and `zhijian admin create`; only
                // the password differs: the demo's shared one, not to be changed at sign-in.
                let new = NewAdmin {
                    username: Username::parse(username)
                        .map_err(|e| StoreError::broken(format!("demo admin {username}: {e}")))?,
                    display_name: DisplayName::parse(display_name)
                        .map_err(|e| StoreError::broken(format!("demo admin {username}: {e}")))?,
                    role,
                    union_id: union.union_id(),
                };
                let given = InitialPassword::Given(password.clone());
                create_admin_in(conn, &Creator::Demo, &new, given, chrono::Utc::now())
                    .map_err(|source| DemoError::Admin { username, source })?;
                DemoAdmin {
                    username: username.to_owned(),
                    role,
                    union_id: union.union_id(),
                    union_name: union.name.clone(),
                    created: true,
                    password_works: true,
                }
            }
        };
        report.push(admin);
    }
    let password = generated.or_else(|| {
        configured
            .filter(|_| report.iter().any(|a| a.password_works))
            .cloned()
    });
    Ok((report, password))
}

/// The notice phone of a demo admin: `1390000000N` for the N-th account of the list above
/// (made-up numbers; admins get their notices — new application, deadline in one hour,
/// overdue — by SMS).
pub fn demo_admin_phone(username: &str) -> Option<String> {
    ADMINS
        .iter()
        .position(|(name, ..)| *name == username)
        .map(|i| format!("139{:08}", i + 1))
}

/// Gives every demo admin that has no notice phone yet its [`demo_admin_phone`], sealed with
/// `pii`; returns how many were set. Separate from [`seed_demo`] because it needs the PII key.
pub fn seed_demo_phones(
    conn: &mut PgConnection,
    pii: &zhijian_infra::crypto::pii::PiiCipher,
) -> Result<usize, StoreError> {
    let mut set = 0;
    for (username, ..) in ADMINS {
        let admin: Option<(uuid::Uuid, Option<String>)> = admins::table
            .filter(admins::username.eq(username))
            .select((admins::id, admins::phone_cipher))
            .first(conn)
            .optional()?;
        let (Some((id, None)), Some(phone)) = (admin, demo_admin_phone(username)) else {
            continue;
        };
        let phone = zhijian_domain::phone::PhoneNumber::parse(&phone)
            .map_err(|e| StoreError::broken(format!("demo phone of {username}: {e}")))?;
        zhijian_infra::usecases::notifications::set_admin_phone(conn, pii, id, Some(&phone))?;
        set += 1;
    }
    Ok(set)
}

/// The TOTP secret of the demo admin `username`: the first 20 bytes of
/// SHA-256(`zhijian demo totp secret:<username>`), base32. Derived, not random, so the tests,
/// `make run`, the contract run and the README walkthrough compute the same codes; the same for
/// every installation, so a demo account is never a real one. In Python:
/// `base64.b32encode(hashlib.sha256(b"zhijian demo totp secret:" + username.encode()).digest()[:20])`.
pub fn demo_totp_secret(username: &str) -> TotpSecret {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("zhijian demo totp secret:{username}").as_bytes());
    TotpSecret::from_bytes(&digest[..SECRET_BYTES])
}

/// Enrols every demo manager (the second factor is mandatory for managers) with its
/// [`demo_totp_secret`], confirmed, without recovery codes; returns how many were enrolled.
/// Reviewers and viewers stay without a factor. Separate from [`seed_demo`] because it needs the
/// PII key (the secret is stored sealed).
pub fn seed_demo_second_factors(
    conn: &mut PgConnection,
    pii: &zhijian_infra::crypto::pii::PiiCipher,
) -> Result<usize, StoreError> {
    let mut enrolled = 0;
    for (username, role, ..) in ADMINS {
        if !second_factor::mandatory_for(role) {
            continue;
        }
        let admin: Option<uuid::Uuid> = admins::table
            .filter(admins::username.eq(username))
            .select(admins::id)
            .first(conn)
            .optional()?;
        let Some(admin) = admin else { continue };
        let secret = demo_totp_secret(username);
        let now = chrono::Utc::now();
        if enrol_known_secret(conn, pii, AdminId::from_uuid(admin), &secret, now)? {
            enrolled += 1;
        }
    }
    Ok(enrolled)
}

/// A random password of four groups of four characters (`k7qm-3xdp-…`): letters without
/// look-alikes and digits, joined by dashes, so it always has two character classes.
pub fn generate_password() -> Secret {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..4)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect();
    Secret::new(groups.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_credit_code_is_valid_and_registered_in_the_county() {
        let code = CreditCode::parse(ENTERPRISE_CREDIT_CODE).unwrap();
        assert_eq!(code.registration_region(), COUNTY);
    }

    #[test]
    fn a_generated_password_meets_the_policy_and_differs_each_time() {
        let a = generate_password();
        assert_eq!(a.expose().len(), 19);
        assert_eq!(password::validate_new_password(a.expose()), Ok(()));
        assert_ne!(a, generate_password());
    }

    #[test]
    fn the_demo_totp_secret_is_derived_from_the_username() {
        // The value the README's and contract-tokens.sh's Python computes.
        assert_eq!(
            demo_totp_secret("wushan-manager").expose_base32(),
            "FZL5JBUBB3TXN5VX2PMLPHSWXC6XZKC7"
        );
        assert_ne!(
            demo_totp_secret("wushan-manager"),
            demo_totp_secret("wushan-viewer")
        );
        assert_eq!(demo_totp_secret("wushan-manager").expose_base32().len(), 32);
    }

    #[test]
    fn village_committee_suffixes_are_dropped_from_union_names() {
        assert_eq!(short_name("净坛社区居民委员会"), "净坛社区");
        assert_eq!(short_name("和平村村民委员会"), "和平村");
        assert_eq!(short_name("高唐街道"), "高唐街道");
    }

    #[test]
    fn every_admin_username_fits_the_table_constraint() {
        for (username, ..) in ADMINS {
            assert!(
                username.len() >= 3
                    && username
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'-')
            );
        }
        assert!(
            COMMUNITIES
                .iter()
                .all(|c| RegionCode::parse(c).is_ok_and(|r| r.as_str().starts_with(COUNTY)))
        );
    }
}

/// The demo's service stations, their staff and the county's welcome benefits (issue 17), for
/// the walkthrough's end: a new member of 净坛社区 finds the nearest station and collects the
/// welcome package there.
///
/// ```text
/// 净坛社区户外劳动者驿站 (驿站, 31.0752 N 109.8781 E, 高唐街道)   staff: jingtan-station
/// 巫山县司机之家 (司机之家, 31.0821 N 109.8706 E)
/// 巫山县总工会: 新会员入会礼包 (collected at 净坛社区户外劳动者驿站, 90 days, stock 1000),
///               新就业形态劳动者意外伤害保险 (中国人寿, 12 months, 365 days, stock 1000)
/// ```
///
/// Idempotent: stations and benefits are found by name, the staff by username. Not part of
/// [`seed_demo`] (the tests' county has no benefits unless a test configures them).
pub fn seed_demo_stations(
    conn: &mut PgConnection,
    password: Option<&Secret>,
) -> Result<DemoStations, DemoError> {
    use zhijian_domain::benefit::{BenefitKind, BenefitTerms};
    use zhijian_domain::station::{HoursInput, OpeningHours, StationKind};
    use zhijian_infra::db::schema::{benefits, stations};
    use zhijian_infra::store::benefits::NewBenefit;
    use zhijian_infra::store::stations::StationFields;

    conn.transaction(|conn| {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({DEMO_LOCK})")).execute(conn)?;
        let county = unions::table
            .filter(unions::name.eq("巫山县总工会"))
            .filter(unions::region_code.eq(COUNTY))
            .select(UnionRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| DemoError::RegionsMissing(COUNTY.to_owned()))?;
        let now = chrono::Utc::now();
        let week = |open: &str, close: &str| -> Vec<HoursInput> {
            (1..=7)
                .map(|weekday| HoursInput {
                    weekday,
                    open: open.to_owned(),
                    close: close.to_owned(),
                })
                .collect()
        };
        let mut ids = Vec::new();
        for (name, kind, lat, lng, address, hours, amenities, phone) in [
            (
                "净坛社区户外劳动者驿站",
                StationKind::ServicePost,
                31.0752,
                109.8781,
                "重庆市巫山县高唐街道净坛社区广东中路1号",
                week("08:00", "21:00"),
                vec![
                    Amenity::DrinkingWater,
                    Amenity::Microwave,
                    Amenity::Charging,
                    Amenity::Toilet,
                    Amenity::FirstAid,
                    Amenity::RestArea,
                ],
                "023-57681234",
            ),
            (
                "巫山县司机之家",
                StationKind::DriversHome,
                31.0821,
                109.8706,
                "重庆市巫山县高唐街道平湖西路8号",
                week("00:00", "24:00"),
                vec![
                    Amenity::DrinkingWater,
                    Amenity::Charging,
                    Amenity::Toilet,
                    Amenity::RestArea,
                    Amenity::Parking,
                ],
                "023-57685678",
            ),
        ] {
            let existing = stations::table
                .filter(stations::name.eq(name))
                .select(stations::id)
                .first::<i64>(conn)
                .optional()?;
            let id = match existing {
                Some(id) => id,
                None => {
                    let hours = OpeningHours::parse(&hours, &[])
                        .map_err(|e| StoreError::broken(format!("demo hours: {e}")))?;
                    let fields = StationFields {
                        name: name.to_owned(),
                        kind,
                        lat,
                        lng,
                        address: address.to_owned(),
                        hours,
                        amenities,
                        phone: Some(phone.to_owned()),
                    };
                    zhijian_infra::store::stations::create(conn, county.id, &fields, now)?.id
                }
            };
            ids.push(id);
        }
        let jingtan = ids[0];
        for (kind, name, insurer, cover, station, days) in [
            (
                BenefitKind::GiftPackage,
                "新会员入会礼包",
                None,
                None,
                Some(jingtan),
                90,
            ),
            (
                BenefitKind::AccidentInsurance,
                "新就业形态劳动者意外伤害保险",
                Some("中国人寿保险巫山县支公司"),
                Some(12),
                None,
                365,
            ),
        ] {
            let exists = benefits::table
                .filter(benefits::union_id.eq(county.id))
                .filter(benefits::name.eq(name))
                .select(benefits::id)
                .first::<i64>(conn)
                .optional()?;
            if exists.is_none() {
                let terms = BenefitTerms::parse(kind, insurer.is_some(), days, 1_000, cover)
                    .map_err(|e| StoreError::broken(format!("demo benefit: {e}")))?;
                zhijian_infra::store::benefits::create(
                    conn,
                    &NewBenefit {
                        union_id: county.id,
                        kind,
                        name: name.to_owned(),
                        insurer: insurer.map(str::to_owned),
                        station_id: station,
                        terms,
                    },
                    now,
                )?;
            }
        }
        let staff = "jingtan-station";
        let has_staff = admins::table
            .filter(admins::username.eq(staff))
            .select(admins::id)
            .first::<uuid::Uuid>(conn)
            .optional()?
            .is_some();
        let staff_created = match (has_staff, password.filter(|p| !p.is_empty())) {
            (false, Some(password)) => {
                // The same use case as `POST /v1/admin/stations/{id}/staff`, with the demo's
                // shared password (not to be changed at sign-in).
                let bad = |e: &dyn std::fmt::Display| {
                    StoreError::broken(format!("demo station staff {staff}: {e}"))
                };
                let new = NewStationStaff {
                    username: Username::parse(staff).map_err(|e| bad(&e))?,
                    display_name: DisplayName::parse("净坛社区驿站管理员").map_err(|e| bad(&e))?,
                    station: zhijian_domain::station::StationId::new(jingtan),
                };
                let given = InitialPassword::Given(password.clone());
                create_station_staff_in(conn, &Creator::Demo, &new, given, now)
                    .map_err(|e| bad(&e))?;
                true
            }
            _ => false,
        };
        Ok(DemoStations {
            stations: ids,
            staff_created,
        })
    })
}

/// What [`seed_demo_stations`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoStations {
    /// 净坛社区户外劳动者驿站, 巫山县司机之家.
    pub stations: Vec<i64>,
    /// Whether `jingtan-station` was created by this run.
    pub staff_created: bool,
}

/// The demo county's workforce estimates and targets (底数 and 目标) of the four key groups for
/// the current Beijing year, set by `wushan-manager` through the same use case as
/// `PUT /v1/admin/unions/{id}/workforce/{year}` (audited), so the statistics show coverage:
///
/// ```text
/// 快递员 1 200 (目标 960) · 外卖配送员 900 (720) · 网约车司机 600 (480) · 货车司机 1 500 (1 200)
/// ```
///
/// Made-up figures. Idempotent: a group already holding them is left as it is; one changed
/// since is set back (at its current version). Not part of [`seed_demo`].
pub fn seed_demo_workforce(conn: &mut PgConnection) -> Result<usize, DemoError> {
    use zhijian_domain::text::WorkforceSource;
    use zhijian_domain::workforce::{Figures, GroupFigures, WorkforceYear};
    use zhijian_infra::store::applications::AdminActor;
    use zhijian_infra::usecases::workforce::{read_in, set_workforce_in};

    let refused = |what: String| DemoError::Store(StoreError::broken(what));
    let (admin_id, union_id): (uuid::Uuid, i64) = admins::table
        .filter(admins::username.eq("wushan-manager"))
        .select((admins::id, admins::union_id))
        .first(conn)?;
    let county = zhijian_infra::store::unions::find(conn, UnionId::new(union_id))?
        .ok_or_else(|| refused("the demo county is missing".to_owned()))?;
    let admin = AdminActor {
        admin_id,
        role: AdminRole::Manager.as_str(),
        union_path: county.union_path()?,
    };
    let now = chrono::Utc::now();
    let year = WorkforceYear::new(chrono::Datelike::year(
        &zhijian_domain::calendar::local_date(now),
    ))
    .map_err(|e| refused(e.to_string()))?;
    let source = WorkforceSource::parse("演示数据：巫山县总工会摸底调查（虚构）")
        .map_err(|e| refused(e.to_string()))?;
    let stored =
        read_in(conn, &admin, UnionId::new(county.id), year).map_err(|e| refused(e.to_string()))?;
    let entries = [
        (OccupationGroup::Courier, 1_200, 960),
        (OccupationGroup::DeliveryRider, 900, 720),
        (OccupationGroup::RideHailingDriver, 600, 480),
        (OccupationGroup::TruckDriver, 1_500, 1_200),
    ]
    .into_iter()
    .map(|(group, estimate, target)| {
        Ok(GroupFigures {
            group,
            figures: Figures::new(estimate, Some(target), source.clone())
                .map_err(|e| refused(e.to_string()))?,
            version: stored
                .rows
                .iter()
                .find(|r| r.occupation == group)
                .map(|r| r.version),
        })
    })
    .collect::<Result<Vec<_>, DemoError>>()?;
    let set = set_workforce_in(conn, &admin, UnionId::new(county.id), year, &entries, now)
        .map_err(|e| refused(e.to_string()))?;
    Ok(set.rows.len())
}
