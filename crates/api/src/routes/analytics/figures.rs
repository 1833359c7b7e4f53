//! The leaders' figures: the summary cards with their trends and table, and the hot-spot map.

use super::*;

// ---- handlers ------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/analytics/summary", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = SummaryDto, description = "JSON, or CSV (UTF-8 with BOM) with format=csv: one row per group, then `total`"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden (not a leader, dispatcher or admin), outside_jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (group_by, from, to), invalid_format, unknown_district/street/community/grid/category, areas_mismatch", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn summary(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let group_by: Option<GroupBy> = q
        .group_by
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| {
            g.parse()
                .map_err(|e: ValueError| unprocessable("invalid_group_by", "group_by", e.reason))
        })
        .transpose()?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let (groups, total) = repo::figures(state.reads(), &query, group_by).await?;
    let dto = SummaryDto {
        from: query.period.from(),
        to: query.period.to(),
        as_of: query.now,
        group_by: group_by.map(|g| g.as_str().to_owned()),
        groups: groups
            .iter()
            .map(|g| GroupDto {
                key: match &g.key {
                    GroupKey::Id(id) => id.map(|i| i.to_string()),
                    GroupKey::Text(t) => Some(t.clone()),
                },
                // Cases assigned to nobody form the officer grouping's one keyless row.
                label: match (&g.key, group_by) {
                    (GroupKey::Id(None), Some(GroupBy::Officer)) => {
                        Some(lang.pick("未分派", "Unassigned").to_owned())
                    }
                    _ => g.label.clone(),
                },
                figures: FiguresDto::from(&g.figures),
            })
            .collect(),
        total: FiguresDto::from(&total),
    };
    if !csv {
        return Ok(axum::Json(dto).into_response());
    }
    let mut header = vec!["group_by", "key", "label"];
    header.extend(FIGURE_HEADERS);
    let by = match (lang, group_by) {
        (_, None) => String::new(),
        (Lang::Zh, Some(g)) => group_by_zh(g).to_owned(),
        (Lang::En, Some(g)) => g.as_str().to_owned(),
    };
    let mut rows: Vec<Vec<Cell>> = dto
        .groups
        .iter()
        .map(|g| {
            let mut r: Vec<Cell> = vec![
                by.clone().into(),
                g.key.clone().into(),
                g.label.clone().into(),
            ];
            r.extend(figure_cells(&g.figures));
            r
        })
        .collect();
    let mut t: Vec<Cell> = vec![lang.pick("合计", "total").into(), Cell::Empty, Cell::Empty];
    t.extend(figure_cells(&dto.total));
    rows.push(t);
    Ok(csv_response("summary.csv", lang, &header, rows))
}

#[utoipa::path(get, path = "/api/v1/analytics/hotspots", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = HotspotsDto, content_type = "application/geo+json", description = "GeoJSON FeatureCollection, densest first; CSV with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (by, cell_m, limit), invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn hotspots(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let by_grid = match q.by.as_deref().map(str::trim) {
        None | Some("") | Some("cell") => false,
        Some("grid") => true,
        Some(_) => {
            return Err(unprocessable(
                "invalid_value",
                "by",
                "by must be cell or grid",
            ));
        }
    };
    let cell_m = bounded("cell_m", q.cell_m, 250.0, 50.0, 5000.0)?;
    let limit = bounded("limit", q.limit, 20, 1, 500)?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let mut features = Vec::new();
    if by_grid {
        let mut grids: Vec<(repo::GridCount, Option<f64>)> =
            repo::grid_counts(state.reads(), &query)
                .await?
                .into_iter()
                .map(|g| {
                    let km2 = Boundary::from_geojson(&g.boundary)
                        .ok()
                        .map(|b| b.area_km2())
                        .filter(|a| *a > 0.0);
                    let density = km2.map(|a| round4(g.cases as f64 / a));
                    (g, density)
                })
                .collect();
        grids.sort_by(|a, b| {
            b.1.unwrap_or(0.0)
                .total_cmp(&a.1.unwrap_or(0.0))
                .then(b.0.cases.cmp(&a.0.cases))
                .then(a.0.grid_id.cmp(&b.0.grid_id))
        });
        for (rank, (g, density)) in grids.into_iter().take(limit as usize).enumerate() {
            features.push(HotspotFeature {
                kind: "Feature",
                geometry: serde_json::from_str(&g.boundary).unwrap_or(serde_json::Value::Null),
                properties: HotspotProperties {
                    rank: rank as u32 + 1,
                    cases: g.cases,
                    density_per_km2: density,
                    row: None,
                    col: None,
                    grid_id: Some(g.grid_id),
                    name: Some(g.name),
                    community: Some(g.community),
                    near: None,
                },
            });
        }
    } else {
        let lattice = CellLattice::new(cell_m, repo::reference_latitude(state.reads()).await?)?;
        let cells =
            repo::cell_counts(state.reads(), &query, lattice.dlat(), lattice.dlon(), limit).await?;
        let centres: Vec<(f64, f64)> = cells
            .iter()
            .map(|c| {
                let ring = lattice.ring(c.row, c.col);
                (
                    (ring[0][1] + ring[2][1]) / 2.0,
                    (ring[0][0] + ring[2][0]) / 2.0,
                )
            })
            .collect();
        let mut near = near_names(&state, &centres).await?.into_iter();
        for (rank, c) in cells.into_iter().enumerate() {
            features.push(HotspotFeature {
                kind: "Feature",
                geometry: serde_json::json!({
                    "type": "Polygon",
                    "coordinates": [lattice.ring(c.row, c.col)],
                }),
                properties: HotspotProperties {
                    rank: rank as u32 + 1,
                    cases: c.cases,
                    density_per_km2: Some(round4(c.cases as f64 / lattice.cell_km2())),
                    row: Some(c.row),
                    col: Some(c.col),
                    grid_id: None,
                    name: None,
                    community: None,
                    near: near.next().flatten(),
                },
            });
        }
    }
    let dto = HotspotsDto {
        kind: "FeatureCollection",
        from: query.period.from(),
        to: query.period.to(),
        by: if by_grid { "grid" } else { "cell" }.to_owned(),
        cell_m: (!by_grid).then_some(cell_m),
        features,
    };
    if csv {
        let rows = dto
            .features
            .iter()
            .map(|f| {
                let p = &f.properties;
                // The feature's south-west and north-east corners.
                let coords: Vec<[f64; 2]> = f.geometry["coordinates"][0]
                    .as_array()
                    .map(|ring| {
                        ring.iter()
                            .filter_map(|c| Some([c[0].as_f64()?, c[1].as_f64()?]))
                            .collect()
                    })
                    .unwrap_or_default();
                let min = |i: usize| coords.iter().map(|c| c[i]).reduce(f64::min);
                let max = |i: usize| coords.iter().map(|c| c[i]).reduce(f64::max);
                vec![
                    i64::from(p.rank).into(),
                    p.cases.into(),
                    p.density_per_km2.into(),
                    p.row.map_or(Cell::Empty, Cell::Int),
                    p.col.map_or(Cell::Empty, Cell::Int),
                    p.grid_id.map_or(Cell::Empty, Cell::Int),
                    p.name.clone().into(),
                    p.community.clone().into(),
                    p.near.clone().into(),
                    min(1).into(),
                    min(0).into(),
                    max(1).into(),
                    max(0).into(),
                ]
            })
            .collect();
        return Ok(csv_response(
            "hotspots.csv",
            lang,
            &[
                "rank",
                "cases",
                "density_per_km2",
                "row",
                "col",
                "grid_id",
                "name",
                "community",
                "near",
                "min_lat",
                "min_lon",
                "max_lat",
                "max_lon",
            ],
            rows,
        ));
    }
    let mut res = axum::Json(dto).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    Ok(res)
}
