//! Typed text columns: a domain vocabulary (a `string_enum!` of `zhijian_domain`, such as
//! `ApplicationStatus` or `Ethnicity`) stored in a `text` column, read and written as the
//! domain type instead of a `String` parsed again by every reader.
//!
//! The orphan rule forbids implementing Diesel's traits for a domain type here, so the column
//! goes through [`Stored<T>`], a wrapper this crate owns, which implements `ToSql<Text, Pg>`,
//! `FromSql<Text, Pg>` (hence `Queryable`) and `AsExpression<Text>` for every `T:`
//! [`StoredText`]. A row struct keeps the domain type in its field and names the wrapper:
//!
//! ```ignore
//! #[derive(Queryable, Selectable)]
//! #[diesel(table_name = applications)]
//! pub struct ApplicationRow {
//!     #[diesel(deserialize_as = Stored<ApplicationStatus>)]
//!     pub status: ApplicationStatus,
//!     // …
//! }
//! ```
//!
//! and a filter or an update binds it: `applications::status.eq(Stored(status))` (or, as
//! before, `status.as_str()`; both send the same text).
//!
//! To add a type: implement [`StoredText`] for it with [`stored_text!`] (which also writes the
//! `From<Stored<T>> for T` that `deserialize_as` needs; it cannot be generic, for the same
//! orphan rule). A value the database holds that the vocabulary does not know is a
//! deserialization error naming the type and the value: [`crate::db::StoreError::Internal`]
//! for the caller, never a silent default.

use std::io::Write;

use diesel::deserialize::FromSqlRow;
use diesel::deserialize::{self, FromSql};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

/// A domain type stored as text: its stable string form and its parser.
pub trait StoredText: Sized + std::fmt::Debug {
    /// The type's name, in errors.
    const WHAT: &'static str;
    /// The stable form written to the column.
    fn to_stored(&self) -> &str;
    /// Parses the column's text; `None` for a value the type does not know.
    fn from_stored(text: &str) -> Option<Self>;
}

/// A domain value in a `text` column: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Stored<T: StoredText>(pub T);

impl<T: StoredText> From<T> for Stored<T> {
    fn from(value: T) -> Self {
        Stored(value)
    }
}

impl<T: StoredText> ToSql<Text, Pg> for Stored<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.to_stored().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl<T: StoredText> FromSql<Text, Pg> for Stored<T> {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = std::str::from_utf8(bytes.as_bytes())?;
        T::from_stored(text)
            .map(Stored)
            .ok_or_else(|| format!("{} {text:?} is not a known value", T::WHAT).into())
    }
}

/// Implements [`StoredText`] (through the type's `as_str` and `parse`) and
/// `From<Stored<T>> for T` for domain vocabulary types.
#[macro_export]
macro_rules! stored_text {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::db::types::StoredText for $t {
            const WHAT: &'static str = stringify!($t);
            fn to_stored(&self) -> &str {
                <$t>::as_str(*self)
            }
            fn from_stored(text: &str) -> Option<Self> {
                <$t>::parse(text).ok()
            }
        }

        impl From<$crate::db::types::Stored<$t>> for $t {
            fn from(stored: $crate::db::types::Stored<$t>) -> Self {
                stored.0
            }
        }
    )+};
}

stored_text!(
    zhijian_domain::application::ApplicationEvent,
    zhijian_domain::application::ApplicationStatus,
    zhijian_domain::application::RejectCode,
    zhijian_domain::member::MemberEvent,
    zhijian_domain::member::MemberStatus,
    zhijian_domain::occupation::OccupationGroup,
    zhijian_domain::registry::Education,
    zhijian_domain::registry::EmploymentStatus,
    zhijian_domain::registry::Ethnicity,
    zhijian_domain::registry::Gender,
    zhijian_domain::registry::HouseholdType,
    zhijian_domain::registry::PoliticalStatus,
    zhijian_domain::routing::RoutingRule,
    zhijian_domain::routing::UnionKind,
    zhijian_domain::transfer::TransferStatus,
);

#[cfg(test)]
mod tests {
    use super::*;
    use zhijian_domain::application::ApplicationStatus;
    use zhijian_domain::registry::Ethnicity;

    #[test]
    fn every_value_round_trips_through_its_stored_form() {
        for status in ApplicationStatus::ALL {
            assert_eq!(
                ApplicationStatus::from_stored(status.to_stored()),
                Some(*status)
            );
        }
        for ethnicity in Ethnicity::ALL {
            assert_eq!(
                Ethnicity::from_stored(ethnicity.to_stored()),
                Some(*ethnicity)
            );
        }
        assert_eq!(ApplicationStatus::from_stored("lost"), None);
        assert_eq!(
            ApplicationStatus::from(Stored(ApplicationStatus::Pooled)),
            ApplicationStatus::Pooled
        );
    }
}
