//! Membership (会籍): the member's own record and card, the admins' member list and record,
//! the lifecycle (retain, reactivate, withdraw, expel, decease) and transfers between unions.
//!
//! One function per operation, in the shape of [`crate::usecases`]: it takes domain values,
//! runs its one transaction through [`crate::db::run`] with its history, audit and outbox
//! rows, and answers a domain outcome or an error enum of its own whose variants carry the
//! domain's errors. The SQL lives in [`crate::store::members`],
//! [`crate::store::member_lifecycle`] and [`crate::store::transfers`].

use crate::usecases::store_errors;

pub mod card;
pub mod claim;
pub mod export;
pub mod lifecycle;
pub mod members;
pub mod referrals;
pub mod transfers;

/// One page of a keyset-paginated list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// At most the page size.
    pub items: Vec<T>,
    /// Whether another page follows.
    pub more: bool,
}

impl<T> Page<T> {
    /// Cuts `items`, read with one more than `limit`, to a page.
    fn cut(mut items: Vec<T>, limit: i64) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = items.len() > limit;
        items.truncate(limit);
        Self { items, more }
    }
}
