//! Who is asking: the authenticated account, its role and its jurisdiction.

use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::Jurisdiction;
use whistle_domain::people::Role;

/// An authenticated caller, as carried by a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub jurisdiction: Jurisdiction,
}
