//! Pledges running out, for the reminder to the stationed officer.

use super::*;

/// A pledge that runs out soon and has not been renewed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpiringPledge {
    pub pledge_id: i64,
    pub merchant_id: i64,
    pub merchant_name: String,
    pub community_id: CommunityId,
    pub valid_until: NaiveDate,
}

/// Pledges running out between `from` and `to` (inclusive), not revoked, and not followed by a
/// later pledge of the same merchant (a renewal). Read through `idx_pledge_valid_until`.
pub async fn expiring_pledges(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ExpiringPledge>, RepoError> {
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let rows = pledge::Entity::find()
        .filter(pledge::Column::ValidUntil.gte(day(from)))
        .filter(pledge::Column::ValidUntil.lte(day(to)))
        .filter(pledge::Column::RevokedOn.is_null())
        .order_by_asc(pledge::Column::ValidUntil)
        .order_by_asc(pledge::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for p in rows {
        let renewed = pledge::Entity::find()
            .filter(pledge::Column::MerchantId.eq(p.merchant_id))
            .filter(pledge::Column::ValidUntil.gt(p.valid_until.as_str()))
            .filter(pledge::Column::RevokedOn.is_null())
            .count(db)
            .await?
            > 0;
        if renewed {
            continue;
        }
        let Some(m) = merchant::Entity::find_by_id(p.merchant_id).one(db).await? else {
            continue;
        };
        out.push(ExpiringPledge {
            pledge_id: p.id,
            merchant_id: m.id,
            merchant_name: m.name,
            community_id: CommunityId::new(m.community_id).map_err(corrupt("merchant", m.id))?,
            valid_until: p.valid_until.parse().map_err(|_| {
                corrupt("pledge", p.id)(whistle_domain::ValueError::new(
                    "valid_until",
                    "not a date",
                ))
            })?,
        });
    }
    Ok(out)
}
