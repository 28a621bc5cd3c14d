//! `my_data` (PIPL art. 45): everything held about the signed-in worker, personal data in
//! clear for them alone, read in one transaction with the audit row (`data_export`) that
//! records the reading.

use diesel::Connection;
use zhijian_domain::ids::AccountId;

use crate::db::{self, StoreError};
use crate::store::accounts::{self, AccountRow};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::benefits::{self, HeldBenefit};
use crate::store::member_lifecycle::{self, MemberRecord};
use crate::store::privacy::{self, PersonalDataView};
use crate::store::transfers::{self, TransferDetail};
use crate::usecases::Services;
use crate::usecases::applications::{ApplicationDetail, PiiShown};

/// Everything held about one worker.
#[derive(Debug, Clone)]
pub struct MyData {
    /// The account.
    pub account: AccountRow,
    /// Its phone, decrypted.
    pub phone: Option<String>,
    /// The applications, newest first, with their timelines, personal data in clear (or
    /// `已删除` once erased).
    pub applications: Vec<ApplicationDetail>,
    /// The membership with its periods and history, when the worker is a member.
    pub membership: Option<MemberRecord>,
    /// The member's transfers, newest first.
    pub transfers: Vec<TransferDetail>,
    /// The member's benefits.
    pub benefits: Vec<HeldBenefit>,
    /// Every time an admin saw the personal data of the worker's applications in clear.
    pub views: Vec<PersonalDataView>,
    /// The consent to the privacy notice (version and purposes), if given.
    pub privacy_consent: Option<crate::store::privacy_consents::ConsentRow>,
    /// The worker's consents to partner platforms, live and withdrawn, with each partner's
    /// name.
    pub partner_consents: Vec<(crate::store::partners::ConsentRow, String)>,
}

/// Why the data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MyDataError {
    /// The account is cancelled or gone.
    #[error("account not found")]
    AccountGone,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

crate::usecases::store_errors!(MyDataError);

/// Everything held about `account`; the reading is audited.
pub async fn my_data(ctx: &Services, account: AccountId) -> Result<MyData, MyDataError> {
    let (pii, reference, now) = (ctx.pii.clone(), ctx.reference.clone(), ctx.now());
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let row = accounts::find(conn, account)?.ok_or(MyDataError::AccountGone)?;
            let phone = row.phone(&pii)?.map(|p| p.expose().to_owned());
            let mut applications = Vec::new();
            for (application, union) in crate::store::applications::list_for_account(conn, account)?
            {
                applications.push(ApplicationDetail::load(
                    conn,
                    &pii,
                    application,
                    Some(union),
                    PiiShown::Clear,
                )?);
            }
            let membership = member_lifecycle::record_for_account(conn, account)?;
            let calendar = reference.calendar(conn)?;
            let transfers = transfers::list_for_account(conn, account, &calendar)?;
            let benefits = match &membership {
                Some(record) => benefits::of_member(conn, record.member.id)?,
                None => Vec::new(),
            };
            let views = privacy::personal_data_views(conn, account)?;
            let privacy_consent = crate::store::privacy_consents::find(conn, account)?;
            let partner_consents =
                crate::store::partners::consents_of_account(conn, account.as_uuid())?;
            audit::record(
                conn,
                &AuditEntry {
                    at: now,
                    actor: &Actor {
                        kind: "applicant",
                        id: Some(account.to_string()),
                        role: None,
                        union_id: None,
                    },
                    object_kind: "account",
                    object_id: account.to_string(),
                    action: "data_export",
                    reason: None,
                },
            )?;
            Ok(MyData {
                account: row,
                phone,
                applications,
                membership,
                transfers,
                benefits,
                views,
                privacy_consent,
                partner_consents,
            })
        })
    })
    .await
}
