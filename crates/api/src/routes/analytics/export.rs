//! The CSV export of cases, written for spreadsheets.

use super::*;

// ---- CSV -------------------------------------------------------------------------------------

pub(super) fn csv_headers(filename: &str) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
        ),
    ]
}

/// A column heading: the English key, or its Chinese name for a Chinese request.
pub(super) fn heading(lang: Lang, key: &str) -> Cell {
    match lang {
        Lang::Zh => Cell::from(header_zh(key).unwrap_or(key)),
        Lang::En => Cell::from(key),
    }
}

/// An instant as the city's local time to the second, e.g. `2026-12-01 09:30:05`: what a
/// spreadsheet reads as a date and time, in the zone its readers live in (`cases.utc_offset_minutes`).
pub(super) fn local_time(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A whole CSV document (the aggregate exports are small: one row per group), headed in the
/// request's language.
pub(super) fn csv_response(
    filename: &str,
    lang: Lang,
    header_row: &[&str],
    rows: Vec<Vec<Cell>>,
) -> Response {
    let mut out = String::from(CSV_BOM);
    out.push_str(&csv_row(
        &header_row
            .iter()
            .map(|h| heading(lang, h))
            .collect::<Vec<_>>(),
    ));
    for r in rows {
        out.push_str(&csv_row(&r));
    }
    (csv_headers(filename), out).into_response()
}

pub(super) fn figure_cells(f: &FiguresDto) -> Vec<Cell> {
    let mut cells: Vec<Cell> = vec![
        f.reported.into(),
        f.accepted.into(),
        f.rejected.into(),
        f.closed.into(),
        f.open.into(),
        f.overdue.into(),
        f.closed_on_time.into(),
        f.on_time_close_rate.into(),
        f.resolved.into(),
        f.resolved_on_time.into(),
        f.on_time_handling_rate.into(),
        f.reworked.into(),
        f.rework_rate.into(),
        f.extension_requested.into(),
        f.extension_rate.into(),
        f.escalations.into(),
        f.escalated_cases.into(),
        f.rated.into(),
        f.mean_rating.into(),
        f.satisfied.into(),
        f.satisfaction_rate.into(),
    ];
    for s in &f.stages {
        cells.push(s.cases.into());
        cells.push(s.mean_secs.into());
        cells.push(s.p90_secs.into());
    }
    cells
}

pub(super) const FIGURE_HEADERS: [&str; 36] = [
    "reported",
    "accepted",
    "rejected",
    "closed",
    "open",
    "overdue",
    "closed_on_time",
    "on_time_close_rate",
    "resolved",
    "resolved_on_time",
    "on_time_handling_rate",
    "reworked",
    "rework_rate",
    "extension_requested",
    "extension_rate",
    "escalations",
    "escalated_cases",
    "rated",
    "mean_rating",
    "satisfied",
    "satisfaction_rate",
    "accept_cases",
    "accept_mean_secs",
    "accept_p90_secs",
    "dispatch_cases",
    "dispatch_mean_secs",
    "dispatch_p90_secs",
    "sign_cases",
    "sign_mean_secs",
    "sign_p90_secs",
    "resolve_cases",
    "resolve_mean_secs",
    "resolve_p90_secs",
    "verify_cases",
    "verify_mean_secs",
    "verify_p90_secs",
];

#[utoipa::path(get, path = "/api/v1/analytics/cases.csv", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/csv", description = "The cases reported in the period, newest first, streamed: UTF-8 with BOM, CRLF, formula cells neutralised. Reporter names and phones are never exported."),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden (needs ExportData: leaders and dispatchers), outside_jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (status), unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn export_cases(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let statuses: Vec<CaseStatus> = q
        .status
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let query = prepare(&state, &p, &q, Action::ExportData).await?;
    let s = &query.scope;
    let mut vis = Visibility::default();
    match (&s.areas, s.street, s.district) {
        (_, Some(street), _) => vis.streets = vec![street],
        (_, None, Some(district)) => vis.districts = vec![district],
        (None, None, None) => vis.everything = true,
        (Some(a), None, None) => {
            vis.districts = a.districts.clone();
            vis.streets = a.streets.clone();
            vis.communities = a.communities.clone();
        }
    }
    let filter = CaseFilter {
        statuses,
        category: s.category.map(CategoryId::new).transpose()?,
        community: s.community.map(CommunityId::new).transpose()?,
        grid: s.grid.map(GridId::new).transpose()?,
        created_from: Some(query.period.from()),
        created_to: Some(query.period.to()),
        ..Default::default()
    };
    let names = load_names(&state).await?;
    let tz = offset(&state);
    let now = query.now;

    struct Cursor {
        state: AppState,
        vis: Visibility,
        filter: CaseFilter,
        names: Names,
        after: Option<CaseCursor>,
        first: bool,
        done: bool,
    }
    let start = Cursor {
        state: state.clone(),
        vis,
        filter,
        names,
        after: None,
        first: true,
        done: false,
    };
    let stream = futures_util::stream::unfold(start, move |mut cur| async move {
        if cur.done {
            return None;
        }
        let mut out = String::new();
        if cur.first {
            cur.first = false;
            out.push_str(CSV_BOM);
            out.push_str(&csv_row(
                &CASE_HEADERS
                    .iter()
                    .map(|h| match (lang, *h) {
                        // A yes/no column here, not the summary's count.
                        (Lang::Zh, "overdue") => Cell::from("是否超期"),
                        _ => heading(lang, h),
                    })
                    .collect::<Vec<_>>(),
            ));
        }
        let page = cases::search(
            cur.state.reads(),
            &cur.vis,
            &cur.filter,
            CaseOrder::Newest,
            cur.after,
            EXPORT_PAGE,
        )
        .await;
        let (list, next) = match page {
            Ok(p) => p,
            Err(e) => {
                // The headers are gone; all that is left is to cut the download short.
                tracing::error!(error = %e, "case export failed mid-stream");
                cur.done = true;
                return Some((Err(std::io::Error::other("export failed")), cur));
            }
        };
        for c in &list {
            let assignee = match c.assignee {
                Some(a) => Some(staff_name(&cur.state, &mut cur.names, a).await),
                None => None,
            };
            let overdue = !c.status.is_terminal() && c.stage_due.is_some_and(|d| d < now);
            let name = |m: &HashMap<i64, String>, id: i64| m.get(&id).cloned().unwrap_or_default();
            out.push_str(&csv_row(&[
                c.number.as_str().into(),
                local_time(c.created_at, tz).into(),
                name(&cur.names.categories, c.category_id.get()).into(),
                coded(lang, c.case_type.name_zh(), c.case_type.as_str()).into(),
                coded(lang, c.priority.name_zh(), c.priority.as_str()).into(),
                coded(lang, c.source.name_zh(), c.source.as_str()).into(),
                coded(lang, c.status.name_zh(), c.status.as_str()).into(),
                c.stage
                    .map(|s| {
                        coded(lang, stage_zh(s.as_str()).unwrap_or(s.as_str()), s.as_str())
                            .to_owned()
                    })
                    .into(),
                c.stage_due.map(|d| local_time(d, tz)).into(),
                match (lang, overdue) {
                    (Lang::Zh, true) => "是",
                    (Lang::Zh, false) => "否",
                    (Lang::En, true) => "yes",
                    (Lang::En, false) => "no",
                }
                .into(),
                name(&cur.names.streets, c.area.street.get()).into(),
                name(&cur.names.communities, c.area.community.get()).into(),
                name(&cur.names.grids, c.location.grid().grid_id.get()).into(),
                c.address.clone().into(),
                c.description.as_str().into(),
                assignee.into(),
                c.rating
                    .as_ref()
                    .map_or(Cell::Empty, |r| Cell::Int(i64::from(r.score()))),
                c.closed_at.map(|d| local_time(d, tz)).into(),
            ]));
        }
        cur.after = next;
        cur.done = next.is_none();
        Some((Ok::<_, std::io::Error>(out), cur))
    });
    // Fused: the compression layer polls a body once more after it ended, and a bare `unfold`
    // panics when polled past its end, cutting every gzip download off.
    let mut res = Body::from_stream(futures_util::StreamExt::fuse(stream)).into_response();
    for (k, v) in csv_headers("cases.csv") {
        res.headers_mut().insert(k, v);
    }
    Ok(res)
}

/// A coded value as a Chinese reader reads it, or its wire code for an English request.
pub(super) fn coded(lang: Lang, zh: &'static str, code: &'static str) -> &'static str {
    lang.pick(zh, code)
}

/// An assignee's display name, looked up once per export.
pub(super) async fn staff_name(state: &AppState, names: &mut Names, id: UserId) -> String {
    if let Some(n) = names.staff.get(&id.get()) {
        return n.clone();
    }
    let n = users::get_user(state.reads(), id)
        .await
        .map(|u| u.display_name.as_str().to_owned())
        .unwrap_or_default();
    names.staff.insert(id.get(), n.clone());
    n
}
