//! Hand-written queries, mapping rows to and from domain types.
//!
//! Every function takes `&impl ConnectionTrait` so that it runs equally on the pool or inside a
//! caller's transaction: one operation, one transaction, decided by the caller.

pub mod analytics;
pub mod api_keys;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod categories;
pub mod community;
pub mod geography;
pub mod logins;
pub mod merchants;
pub mod notifications;
pub mod open311;
pub mod places;
pub mod registrations;
pub mod sessions;
pub mod sla;
pub mod users;
pub mod worklogs;

/// A page request for keyset pagination over ascending ids: rows with `id > after`, at most
/// `limit` of them. Keyset (not offset) pagination stays stable while rows are being added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: u64,
}

/// One page of rows plus the cursor of the next page, if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says whether more exist.
    pub(crate) fn from_overfetch(mut rows: Vec<T>, limit: u64, id: impl Fn(&T) -> i64) -> Self {
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_after = if has_more { rows.last().map(&id) } else { None };
        Page {
            items: rows,
            next_after,
        }
    }
}
