//! Workload and the 721 mix per officer.

use super::*;

#[utoipa::path(get, path = "/api/v1/analytics/workload", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = WorkloadDto, description = "Per officer; CSV with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn workload(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let loads = repo::workload(state.reads(), &query).await?;
    let mut total = Vec::new();
    for l in &loads {
        for c in Class721::ALL {
            let t = l.mix.total(c);
            total.push((c, t.count, t.minutes));
        }
    }
    let dto = WorkloadDto {
        from: query.period.from(),
        to: query.period.to(),
        as_of: query.now,
        officers: loads
            .iter()
            .map(|l| OfficerLoadDto {
                officer_id: l.officer_id,
                name: l.name.clone(),
                assigned: l.assigned,
                open: l.open,
                overdue: l.overdue,
                closed: l.closed,
                closed_on_time: l.closed_on_time,
                on_time_close_rate: rate(l.closed_on_time, l.closed),
                reworked: l.reworked,
                work: mix_dto(&l.mix),
            })
            .collect(),
        total_work: mix_dto(&Mix::from_rows(total)),
    };
    if csv {
        let rows = dto
            .officers
            .iter()
            .map(|o| {
                let mut r: Vec<Cell> = vec![
                    o.officer_id.into(),
                    o.name.clone().into(),
                    o.assigned.into(),
                    o.open.into(),
                    o.overdue.into(),
                    o.closed.into(),
                    o.closed_on_time.into(),
                    o.on_time_close_rate.into(),
                    o.reworked.into(),
                    o.work.count.into(),
                    o.work.minutes.into(),
                ];
                for c in &o.work.classes {
                    r.push(c.minutes.into());
                    r.push(c.share_by_minutes.into());
                }
                r.push(o.work.distance_from_target.into());
                r
            })
            .collect();
        return Ok(csv_response(
            "workload.csv",
            lang,
            &[
                "officer_id",
                "name",
                "assigned",
                "open",
                "overdue",
                "closed",
                "closed_on_time",
                "on_time_close_rate",
                "reworked",
                "work_logs",
                "work_minutes",
                "service_minutes",
                "service_share",
                "management_minutes",
                "management_share",
                "enforcement_minutes",
                "enforcement_share",
                "distance_from_721",
            ],
            rows,
        ));
    }
    Ok(axum::Json(dto).into_response())
}

/// Names for the export's columns, loaded once per export (small tables).
pub(super) struct Names {
    pub(super) categories: HashMap<i64, String>,
    pub(super) streets: HashMap<i64, String>,
    pub(super) communities: HashMap<i64, String>,
    pub(super) grids: HashMap<i64, String>,
    pub(super) staff: HashMap<i64, String>,
}

pub(super) async fn load_names(state: &AppState) -> Result<Names, ApiError> {
    let mut communities = HashMap::new();
    let mut after = None;
    loop {
        let page = geography::list_communities(
            state.reads(),
            Default::default(),
            PageRequest { after, limit: 1000 },
        )
        .await?;
        for c in &page.items {
            communities.insert(c.community.id.get(), c.community.name.as_str().to_owned());
        }
        match page.next_after {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    Ok(Names {
        categories: categories::list_categories(state.reads(), true)
            .await?
            .into_iter()
            .map(|c| (c.id.get(), c.name.zh().as_str().to_owned()))
            .collect(),
        streets: geography::list_streets(state.reads(), None)
            .await?
            .into_iter()
            .map(|s| (s.id.get(), s.name.as_str().to_owned()))
            .collect(),
        communities,
        grids: geography::list_grids(state.reads(), None)
            .await?
            .into_iter()
            .map(|g| (g.id.get(), g.name.as_str().to_owned()))
            .collect(),
        staff: HashMap::new(),
    })
}

pub(super) const CASE_HEADERS: [&str; 18] = [
    "number",
    "reported_at",
    "category",
    "case_type",
    "priority",
    "source",
    "status",
    "stage",
    "stage_due",
    "overdue",
    "street",
    "community",
    "grid",
    "address",
    "description",
    "assignee",
    "rating",
    "closed_at",
];
