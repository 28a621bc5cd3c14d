//! An application as its readers see it: the row, its union, its timeline, the membership
//! number once approved, and the personal data decrypted — masked or in clear.

use diesel::pg::PgConnection;
use zhijian_domain::ids::{ApplicationId, UnionId};
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::resident_id::ResidentId;

use crate::crypto::pii::PiiCipher;
use crate::db::StoreError;
use crate::store::applications::{self, ApplicationRow, EventRow};
use crate::store::unions::UnionRow;

/// What an erased application shows in place of its personal data.
pub const ERASED: &str = "已删除";

/// Whether personal data is shown in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiShown {
    /// Masked (`110105********002X`, `138****1234`).
    Masked,
    /// In clear (an admin whose role needs it; the reading is audited).
    Clear,
}

/// Everything the full view of an application shows.
#[derive(Debug, Clone)]
pub struct ApplicationDetail {
    /// The application.
    pub row: ApplicationRow,
    /// The union handling it.
    pub union: UnionRow,
    /// Every transition, oldest first, with the name of the union after it.
    pub timeline: Vec<(EventRow, String)>,
    /// The membership number, once approved.
    pub membership_number: Option<String>,
    /// The resident ID, masked or in clear as asked.
    pub resident_id: String,
    /// The phone number, masked or in clear as asked.
    pub phone: String,
}

impl ApplicationDetail {
    /// Decrypts the personal data of `row` and assembles the detail.
    pub(crate) fn new(
        row: ApplicationRow,
        union: UnionRow,
        timeline: Vec<(EventRow, String)>,
        membership_number: Option<String>,
        pii: &PiiCipher,
        show: PiiShown,
    ) -> Result<Self, StoreError> {
        let internal =
            |e: &dyn std::fmt::Display| StoreError::broken(format!("application {}: {e}", row.id));
        if row.erased_at.is_some() {
            // Erased (cancellation or retention): nothing left to decrypt.
            return Ok(Self {
                row,
                union,
                timeline,
                membership_number,
                resident_id: ERASED.to_owned(),
                phone: ERASED.to_owned(),
            });
        }
        let resident_id = pii
            .decrypt(&row.resident_id_cipher, "resident_id")
            .map_err(|e| internal(&e))?;
        let phone = pii
            .decrypt(&row.phone_cipher, "phone")
            .map_err(|e| internal(&e))?;
        let (resident_id, phone) = match show {
            PiiShown::Clear => (resident_id, phone),
            PiiShown::Masked => (
                ResidentId::parse_stored(&resident_id)
                    .map_err(|e| internal(&e))?
                    .masked(),
                PhoneNumber::parse(&phone)
                    .map_err(|e| internal(&e))?
                    .masked(),
            ),
        };
        Ok(Self {
            row,
            union,
            timeline,
            membership_number,
            resident_id,
            phone,
        })
    }

    /// Loads the union (when not given), the timeline and the membership number of `row`.
    pub(crate) fn load(
        conn: &mut PgConnection,
        pii: &PiiCipher,
        row: ApplicationRow,
        union: Option<UnionRow>,
        show: PiiShown,
    ) -> Result<Self, StoreError> {
        let union =
            match union {
                Some(union) => union,
                None => crate::store::unions::find(conn, UnionId::new(row.union_id))?.ok_or_else(
                    || StoreError::broken(format!("application {} has no union", row.id)),
                )?,
            };
        let timeline = applications::timeline(conn, ApplicationId::from_uuid(row.id))?;
        let number = match row.member_id {
            Some(member) => {
                crate::store::members::find(conn, member)?.map(|(m, _)| m.membership_number)
            }
            None => None,
        };
        Self::new(row, union, timeline, number, pii, show)
    }
}
