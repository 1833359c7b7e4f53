//! 问题溯源: repeat locations, repeat merchants and recurring categories.

use super::*;

#[utoipa::path(get, path = "/api/v1/analytics/repeat-locations", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = RepeatLocationsDto, description = "Largest first; CSV with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (radius_m, min_cases), too_many_cases (narrow the period or scope), invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn repeat_locations(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let radius_m = bounded("radius_m", q.radius_m, 50.0, 10.0, 1000.0)?;
    let min_cases = bounded("min_cases", q.min_cases, 3, 2, 1000)?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let points = repo::case_points(state.reads(), &query, MAX_POINTS + 1).await?;
    if points.len() as u64 > MAX_POINTS {
        return Err(unprocessable(
            "too_many_cases",
            "from",
            format!("more than {MAX_POINTS} cases: narrow the period, area or category"),
        ));
    }
    let mut by_category: HashMap<i64, Vec<&repo::CasePoint>> = HashMap::new();
    for pt in &points {
        by_category.entry(pt.category_id).or_default().push(pt);
    }
    let mut locations = Vec::new();
    for pts in by_category.values() {
        let coords: Vec<(f64, f64)> = pts.iter().map(|p| (p.lat, p.lon)).collect();
        for group in cluster(&coords, radius_m) {
            if (group.len() as u64) < min_cases {
                continue;
            }
            let members: Vec<&repo::CasePoint> = group.iter().map(|&i| pts[i]).collect();
            let n = members.len() as f64;
            let lat = members.iter().map(|m| m.lat).sum::<f64>() / n;
            let lon = members.iter().map(|m| m.lon).sum::<f64>() / n;
            let spread = members
                .iter()
                .map(|m| distance_m((lat, lon), (m.lat, m.lon)))
                .fold(0.0, f64::max);
            locations.push(RepeatLocationDto {
                category_id: members[0].category_id,
                category: members[0].category.clone(),
                cases: members.len() as u64,
                lat: (lat * 1e6).round() / 1e6,
                lon: (lon * 1e6).round() / 1e6,
                spread_m: (spread * 10.0).round() / 10.0,
                first_reported: members
                    .iter()
                    .map(|m| m.created_at)
                    .min()
                    .unwrap_or(query.now),
                last_reported: members
                    .iter()
                    .map(|m| m.created_at)
                    .max()
                    .unwrap_or(query.now),
                numbers: members.iter().take(50).map(|m| m.number.clone()).collect(),
                near: None,
            });
        }
    }
    locations.sort_by(|a, b| {
        b.cases
            .cmp(&a.cases)
            .then(a.category_id.cmp(&b.category_id))
            .then(a.first_reported.cmp(&b.first_reported))
    });
    let points: Vec<(f64, f64)> = locations.iter().map(|l| (l.lat, l.lon)).collect();
    for (l, near) in locations.iter_mut().zip(near_names(&state, &points).await?) {
        l.near = near;
    }
    let dto = RepeatLocationsDto {
        from: query.period.from(),
        to: query.period.to(),
        radius_m,
        min_cases,
        locations,
    };
    if csv {
        let tz = offset(&state);
        let rows = dto
            .locations
            .iter()
            .map(|l| {
                vec![
                    l.category.clone().into(),
                    l.cases.into(),
                    Some(l.lat).into(),
                    Some(l.lon).into(),
                    Some(l.spread_m).into(),
                    local_time(l.first_reported, tz).into(),
                    local_time(l.last_reported, tz).into(),
                    l.numbers.join(" ").into(),
                    l.near.clone().into(),
                ]
            })
            .collect();
        return Ok(csv_response(
            "repeat-locations.csv",
            lang,
            &[
                "category",
                "cases",
                "lat",
                "lon",
                "spread_m",
                "first_reported",
                "last_reported",
                "numbers",
                "near",
            ],
            rows,
        ));
    }
    Ok(axum::Json(dto).into_response())
}

#[utoipa::path(get, path = "/api/v1/analytics/repeat-merchants", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = RepeatMerchantsDto, description = "Most cases first; CSV with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (min_cases, limit), invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn repeat_merchants(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let min_cases = bounded("min_cases", q.min_cases, 2, 2, 1000)?;
    let limit = bounded("limit", q.limit, 20, 1, 500)?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let merchants = repo::repeat_merchants(state.reads(), &query, min_cases, limit).await?;
    let dto = RepeatMerchantsDto {
        from: query.period.from(),
        to: query.period.to(),
        min_cases,
        merchants: merchants
            .into_iter()
            .map(|m| RepeatMerchantDto {
                merchant_id: m.merchant_id,
                name: m.name,
                cases: m.cases,
                open: m.open,
                categories: m.categories,
            })
            .collect(),
    };
    if csv {
        let rows = dto
            .merchants
            .iter()
            .map(|m| {
                vec![
                    m.merchant_id.into(),
                    m.name.clone().into(),
                    m.cases.into(),
                    m.open.into(),
                    m.categories.into(),
                ]
            })
            .collect();
        return Ok(csv_response(
            "repeat-merchants.csv",
            lang,
            &["merchant_id", "name", "cases", "open", "categories"],
            rows,
        ));
    }
    Ok(axum::Json(dto).into_response())
}

#[utoipa::path(get, path = "/api/v1/analytics/recurring-categories", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = RecurringDto, description = "Longest runs first; CSV (one row per grid, category and week) with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (min_weeks), invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn recurring_categories(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let min_weeks = bounded("min_weeks", q.min_weeks, 2, 2, 53)?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let found = repo::recurring(state.reads(), &query, min_weeks).await?;
    let dto = RecurringDto {
        from: query.period.from(),
        to: query.period.to(),
        min_weeks,
        recurrences: found
            .into_iter()
            .map(|r| RecurrenceDto {
                grid_id: r.grid_id,
                grid: r.grid,
                category_id: r.category_id,
                category: r.category,
                run_weeks: r.run_weeks,
                run_start: r.run_start.to_string(),
                weeks: r
                    .weeks
                    .into_iter()
                    .map(|(w, n)| WeekCountDto {
                        week: w.to_string(),
                        cases: n,
                    })
                    .collect(),
            })
            .collect(),
    };
    if csv {
        let mut rows = Vec::new();
        for r in &dto.recurrences {
            for w in &r.weeks {
                rows.push(vec![
                    r.grid_id.into(),
                    r.grid.clone().into(),
                    r.category.clone().into(),
                    i64::from(r.run_weeks).into(),
                    r.run_start.clone().into(),
                    w.week.clone().into(),
                    w.cases.into(),
                ]);
            }
        }
        return Ok(csv_response(
            "recurring-categories.csv",
            lang,
            &[
                "grid_id",
                "grid",
                "category",
                "run_weeks",
                "run_start",
                "week",
                "cases",
            ],
            rows,
        ));
    }
    Ok(axum::Json(dto).into_response())
}
