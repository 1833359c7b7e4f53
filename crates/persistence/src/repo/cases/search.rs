//! Listing cases: who may see which (`Visibility`), the filters and work lists, the orders
//! and their keyset cursors.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use whistle_domain::case::{Case, CaseSource, CaseStatus};
use whistle_domain::ids::{CategoryId, CommunityId, GridId, UserId};
use whistle_domain::lifecycle::CaseActionKind;

use crate::entities::cases;
use crate::error::RepoError;

/// Which cases a caller may list at all (before filters).
#[derive(Debug, Clone, Default)]
pub struct Visibility {
    /// Everything (dispatchers).
    pub everything: bool,
    pub districts: Vec<i64>,
    pub streets: Vec<i64>,
    pub communities: Vec<i64>,
    /// The caller's own reports are always visible to them.
    pub reporter: Option<UserId>,
}

/// Filters of the case list. Empty means "any".
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub statuses: Vec<CaseStatus>,
    pub category: Option<CategoryId>,
    pub community: Option<CommunityId>,
    pub grid: Option<GridId>,
    pub assignee: Option<UserId>,
    pub source: Option<CaseSource>,
    /// Only cases whose running stage is past its deadline at this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    pub due_before: Option<DateTime<Utc>>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Substring of the description or the case number.
    pub text: Option<String>,
    /// Leave out rejected cases (the public map).
    pub exclude_rejected: bool,
    /// Only open cases waiting for the command centre or a leader in this way.
    pub attention: Option<Attention>,
}

/// What an open case may be waiting for besides its running stage: the work lists of the
/// command centre and the leaders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    /// An extension request (延期申请) that no one has decided yet.
    ExtensionRequest,
    /// The case was escalated (上报/督办) at least once.
    Escalated,
    /// The report had no point: it stands where its address-book entry is, until someone
    /// places it on the map.
    PlacedByAddress,
}

impl Attention {
    pub const ALL: [Attention; 3] = [
        Attention::ExtensionRequest,
        Attention::Escalated,
        Attention::PlacedByAddress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attention::ExtensionRequest => "extension_request",
            Attention::Escalated => "escalated",
            Attention::PlacedByAddress => "placed_by_address",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// Sort order of the case list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOrder {
    /// Earliest running deadline first; cases without one last; ties by id.
    Urgency,
    /// Newest first.
    Newest,
}

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseCursor {
    Urgency { due: Option<DateTime<Utc>>, id: i64 },
    Newest { id: i64 },
}

/// A page of cases and the cursor of the next one. Keyset pagination: stable while cases are
/// added (new cases sort after the cursor in urgency order or before it in newest order, and never
/// shift what was seen).
pub async fn search(
    db: &impl ConnectionTrait,
    visibility: &Visibility,
    filter: &CaseFilter,
    order: CaseOrder,
    after: Option<CaseCursor>,
    limit: u64,
) -> Result<(Vec<Case>, Option<CaseCursor>), RepoError> {
    use sea_orm::sea_query::NullOrdering;
    use sea_orm::{Condition, Order};
    let mut q = cases::Entity::find();
    if !visibility.everything {
        let mut scope = Condition::any();
        if !visibility.districts.is_empty() {
            scope = scope.add(cases::Column::DistrictId.is_in(visibility.districts.clone()));
        }
        if !visibility.streets.is_empty() {
            scope = scope.add(cases::Column::StreetId.is_in(visibility.streets.clone()));
        }
        if !visibility.communities.is_empty() {
            scope = scope.add(cases::Column::CommunityId.is_in(visibility.communities.clone()));
        }
        if let Some(r) = visibility.reporter {
            scope = scope.add(cases::Column::ReporterId.eq(r.get()));
        }
        // An empty scope matches nothing, not everything.
        scope = scope.add(Expr::value(false));
        q = q.filter(scope);
    }
    if !filter.statuses.is_empty() {
        q = q.filter(cases::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if filter.exclude_rejected {
        q = q.filter(cases::Column::Status.ne(CaseStatus::Rejected.as_str()));
    }
    if let Some(c) = filter.category {
        q = q.filter(cases::Column::CategoryId.eq(c.get()));
    }
    if let Some(c) = filter.community {
        q = q.filter(cases::Column::CommunityId.eq(c.get()));
    }
    if let Some(g) = filter.grid {
        q = q.filter(cases::Column::GridId.eq(g.get()));
    }
    if let Some(a) = filter.assignee {
        q = q.filter(cases::Column::AssigneeId.eq(a.get()));
    }
    if let Some(s) = filter.source {
        q = q.filter(cases::Column::Source.eq(s.as_str()));
    }
    if let Some(t) = filter.overdue_at {
        q = q.filter(cases::Column::StageDue.lt(t.fixed_offset()));
    }
    if let Some(t) = filter.due_before {
        q = q.filter(cases::Column::StageDue.lt(t.fixed_offset()));
    }
    if let Some(t) = filter.created_from {
        q = q.filter(cases::Column::CreatedAt.gte(t.fixed_offset()));
    }
    if let Some(t) = filter.created_to {
        q = q.filter(cases::Column::CreatedAt.lt(t.fixed_offset()));
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        q = q.filter(
            Condition::any()
                .add(cases::Column::Description.contains(text))
                .add(cases::Column::Number.contains(text)),
        );
    }
    if let Some(attention) = filter.attention {
        q = q.filter(
            cases::Column::Status
                .is_not_in([CaseStatus::Closed.as_str(), CaseStatus::Rejected.as_str()]),
        );
        // Correlated on the case, so the database walks the open cases and looks each one's
        // events up by idx_case_event_case rather than reading every event of the city.
        q = q.filter(match attention {
            Attention::ExtensionRequest => Expr::cust(format!(
                "EXISTS (SELECT 1 FROM case_event r WHERE r.case_id = \"cases\".\"id\" \
                 AND r.action = '{request}' AND NOT EXISTS (SELECT 1 FROM case_event d \
                 WHERE d.case_id = r.case_id AND d.action = '{decide}' AND d.id > r.id))",
                request = CaseActionKind::RequestExtension.as_str(),
                decide = CaseActionKind::DecideExtension.as_str(),
            )),
            Attention::Escalated => Expr::cust(format!(
                "EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = \"cases\".\"id\" \
                 AND e.action = '{escalate}')",
                escalate = CaseActionKind::Escalate.as_str(),
            )),
            Attention::PlacedByAddress => Expr::col(cases::Column::PlaceId).is_not_null(),
        });
    }
    match (order, after) {
        (CaseOrder::Urgency, Some(CaseCursor::Urgency { due: Some(d), id })) => {
            let d = d.fixed_offset();
            q = q.filter(
                Condition::any()
                    .add(cases::Column::StageDue.gt(d))
                    .add(cases::Column::StageDue.eq(d).and(cases::Column::Id.gt(id)))
                    .add(cases::Column::StageDue.is_null()),
            );
        }
        (CaseOrder::Urgency, Some(CaseCursor::Urgency { due: None, id })) => {
            q = q.filter(
                cases::Column::StageDue
                    .is_null()
                    .and(cases::Column::Id.gt(id)),
            );
        }
        (CaseOrder::Newest, Some(CaseCursor::Newest { id })) => {
            q = q.filter(cases::Column::Id.lt(id));
        }
        _ => {}
    }
    q = match order {
        // NULLS LAST rather than `stage_due IS NULL` first: the same order, but one PostgreSQL
        // reads from idx_case_assignee_due (assignee, stage_due) and stops after the page; the
        // expression made it sort every case of the officer (22 pages/s at 1,000,000 cases).
        CaseOrder::Urgency => q
            .order_by_with_nulls(cases::Column::StageDue, Order::Asc, NullOrdering::Last)
            .order_by_asc(cases::Column::Id),
        CaseOrder::Newest => q.order_by_desc(cases::Column::Id),
    };
    let mut rows = q.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let list = rows
        .into_iter()
        .map(Case::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if more {
        list.last().map(|c| match order {
            CaseOrder::Urgency => CaseCursor::Urgency {
                due: c.stage_due,
                id: c.id.get(),
            },
            CaseOrder::Newest => CaseCursor::Newest { id: c.id.get() },
        })
    } else {
        None
    };
    Ok((list, next))
}
