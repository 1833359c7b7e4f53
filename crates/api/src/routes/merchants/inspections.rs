//! Inspections against a pledge, the cases a failed item opens, photos, compliance and repeat
//! offenders.

use super::*;

// ---- inspections ----------------------------------------------------------------------------

/// Open a case for a failed item, in the same call.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenCaseRequest {
    /// Category code, e.g. `noise` or `street_occupation`.
    pub category: String,
    /// Default: the item's name and the inspection note.
    pub description: Option<String>,
    /// `urgent`, `high`, `normal`, `low` (default: the category's).
    pub priority: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ItemResultRequest {
    /// The pledge item's code, e.g. `order`.
    pub item: String,
    pub passed: bool,
    pub note: Option<String>,
    /// Only for a failed item: open a case against the merchant.
    pub open_case: Option<OpenCaseRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InspectionRequest {
    /// Default: the merchant's pledge active today.
    pub pledge_id: Option<i64>,
    pub note: Option<String>,
    pub results: Vec<ItemResultRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultDto {
    pub item: String,
    pub passed: bool,
    pub note: Option<String>,
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionDto {
    pub id: i64,
    pub merchant_id: i64,
    pub pledge_id: i64,
    pub officer_id: i64,
    pub inspected_at: DateTime<Utc>,
    /// Every checked item passed.
    pub passed: bool,
    pub note: Option<String>,
    pub results: Vec<ResultDto>,
    pub photos: Vec<InspectionPhotoDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionPhotoDto {
    pub id: i64,
    pub item: Option<String>,
    pub mime: String,
    pub size: i64,
    pub url: String,
}

impl From<InspectionPhoto> for InspectionPhotoDto {
    fn from(p: InspectionPhoto) -> Self {
        InspectionPhotoDto {
            url: format!("/api/v1/inspection-photos/{}", p.id),
            id: p.id,
            item: p.item,
            mime: p.mime,
            size: p.size,
        }
    }
}

pub(super) fn inspection_dto(
    i: InspectionRecord,
    numbers: &[(CaseId, String)],
    photos: Vec<InspectionPhoto>,
) -> InspectionDto {
    InspectionDto {
        id: i.id,
        merchant_id: i.merchant_id.get(),
        pledge_id: i.pledge_id.get(),
        officer_id: i.officer_id.get(),
        inspected_at: i.inspected_at,
        passed: i.passed,
        note: i.note,
        results: i
            .results
            .into_iter()
            .map(|r| ResultDto {
                case_number: r.case_id.and_then(|c| {
                    numbers
                        .iter()
                        .find(|(id, _)| *id == c)
                        .map(|(_, n)| n.clone())
                }),
                case_id: r.case_id.map(CaseId::get),
                item: r.item,
                passed: r.passed,
                note: r.note,
            })
            .collect(),
        photos: photos.into_iter().map(InspectionPhotoDto::from).collect(),
    }
}

pub(super) async fn case_numbers(
    state: &AppState,
    i: &InspectionRecord,
) -> Result<Vec<(CaseId, String)>, ApiError> {
    let mut out = Vec::new();
    for c in i.results.iter().filter_map(|r| r.case_id) {
        let case = whistle_persistence::repo::cases::get(&state.db, c).await?;
        out.push((c, case.number.as_str().to_owned()));
    }
    Ok(out)
}

pub(super) fn inspection_error(e: InspectionError) -> ApiError {
    match e {
        InspectionError::PledgeNotActive(_) => ApiError::Conflict {
            code: "pledge_not_active",
            detail: e.to_string(),
        },
        InspectionError::UnknownItem(_) => ApiError::Unprocessable {
            code: "unknown_pledge_item",
            detail: e.to_string(),
            field: Some("results".into()),
        },
        InspectionError::DuplicateItem(_) | InspectionError::Empty => ApiError::Unprocessable {
            code: "invalid_results",
            detail: e.to_string(),
            field: Some("results".into()),
        },
    }
}

/// Inspect a merchant against its pledge (门前四包检查): per item pass or fail with a note. A
/// failed item with `open_case` opens a case against the merchant (at the merchant's place,
/// linked to it) in the same transaction: the inspection and its cases are written together or
/// not at all.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/inspections", tag = "merchants",
    params(("id" = i64, Path)), request_body = InspectionRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = InspectionDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No active pledge", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn inspect(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<InspectionRequest>,
) -> Result<(StatusCode, Json<InspectionDto>), ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    require(&p, Action::InspectMerchant, &Resource::at(m.area))?;
    let today = state.today();
    let pledges = merchants::pledges_of(&state.db, m.id).await?;
    let pledge = match req.pledge_id {
        Some(pid) => pledges
            .iter()
            .find(|r| r.pledge.id.get() == pid)
            .ok_or_else(|| ApiError::Unprocessable {
                code: "unknown_pledge",
                detail: "the merchant has no such pledge".into(),
                field: Some("pledge_id".into()),
            })?,
        None => pledges
            .iter()
            .find(|r| r.pledge.status_on(today) == PledgeStatus::Active)
            .ok_or_else(|| ApiError::Conflict {
                code: "pledge_not_active",
                detail: "the merchant has no active pledge to inspect against".into(),
            })?,
    };
    if req.results.len() > 50 {
        return Err(ApiError::Unprocessable {
            code: "invalid_results",
            detail: "too many results".into(),
            field: Some("results".into()),
        });
    }
    let results = req
        .results
        .iter()
        .map(|r| ItemResult::new(&r.item, r.passed, r.note.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let codes: Vec<&str> = pledge.items.iter().map(|i| i.code.as_str()).collect();
    inspection::check(pledge.pledge.status_on(today), &codes, &results)
        .map_err(inspection_error)?;
    let note = req
        .note
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| clean_text("note", s, 2_000, true))
        .transpose()?;

    // Prepare every case before the transaction (validation, routing, SLA), as intake does.
    let mut prepared = Vec::new();
    for (r, raw) in results.iter().zip(&req.results) {
        let Some(open) = &raw.open_case else { continue };
        if r.passed {
            return Err(ApiError::Unprocessable {
                code: "invalid_results",
                detail: format!(
                    "item {:?} passed; only a failed item opens a case",
                    r.item.as_str()
                ),
                field: Some("open_case".into()),
            });
        }
        let item = pledge
            .items
            .iter()
            .find(|i| i.code == r.item.as_str())
            .map(|i| i.name_zh.clone())
            .unwrap_or_default();
        let description = match open.description.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(d) => d.to_owned(),
            None => format!(
                "门前四包检查未通过：{}（{}）。{}",
                item,
                m.name,
                r.note.as_deref().unwrap_or_default()
            ),
        };
        let report = Report {
            category: open.category.clone(),
            description: Description::parse(&description)?,
            whereabouts: Whereabouts::Point {
                point: m.location,
                crs: Crs::Wgs84,
            },
            address: Some(m.address.as_str())
                .filter(|a| !a.trim().is_empty())
                .map(Address::parse)
                .transpose()?,
            address_text: Some(m.address.clone()),
            priority: open.priority.as_deref().map(str::parse),
            case_type: None,
            reporter_name: None,
            reporter_phone: None,
            attributes: Default::default(),
        };
        let mut case =
            intake::prepare(&state, Some(&p), &report, Channel::Native, None, None).await?;
        case.new.merchant_id = Some(m.id);
        prepared.push((r.item.as_str().to_owned(), case));
    }

    let mut numbers = Vec::with_capacity(prepared.len());
    for (_, case) in &prepared {
        numbers.push(intake::reserve_number(&state, case).await?);
    }
    let txn = state.db.begin().await?;
    let mut opened: Vec<(String, Case)> = Vec::new();
    for ((item, case), number) in prepared.iter().zip(&numbers) {
        opened.push((
            item.clone(),
            intake::insert(&txn, case, number, Some(&p)).await?,
        ));
    }
    let links: Vec<(String, CaseId)> = opened.iter().map(|(i, c)| (i.clone(), c.id)).collect();
    let stored = merchants::insert_inspection(
        &txn,
        &NewInspection {
            merchant: m.id,
            pledge: pledge.pledge.id,
            officer: p.user_id,
            at: state.now(),
            note: note.as_deref(),
            results: &results,
            cases: &links,
        },
    )
    .await?;
    txn.commit().await?;
    for (_, c) in &opened {
        tracing::info!(
            case_id = c.id.get(),
            merchant_id = m.id.get(),
            "case opened by inspection"
        );
    }
    let numbers: Vec<(CaseId, String)> = opened
        .iter()
        .map(|(_, c)| (c.id, c.number.as_str().to_owned()))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(inspection_dto(stored, &numbers, Vec::new())),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LastQuery {
    /// How many of the latest inspections (1–100, default 10).
    pub last: Option<u64>,
}

pub(super) fn last_n(raw: Option<u64>) -> Result<u64, ApiError> {
    let n = raw.unwrap_or(10);
    if (1..=100).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::Unprocessable {
            code: "invalid_value",
            detail: "last must be between 1 and 100".into(),
            field: Some("last".into()),
        })
    }
}

/// A merchant's inspections, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/inspections", tag = "merchants",
    params(("id" = i64, Path), LastQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<InspectionDto>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn merchant_inspections(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LastQuery>,
) -> Result<Json<Vec<InspectionDto>>, ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    let list = merchants::inspections_of(&state.db, m.id, last_n(q.last)?).await?;
    let mut out = Vec::with_capacity(list.len());
    for i in list {
        let numbers = case_numbers(&state, &i).await?;
        let photos = merchants::inspection_photos(&state.db, i.id).await?;
        out.push(inspection_dto(i, &numbers, photos));
    }
    Ok(Json(out))
}

pub(super) async fn readable_inspection(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> Result<(InspectionRecord, MerchantRecord), ApiError> {
    let not_found = || ApiError::not_found("inspection_not_found", "no such inspection");
    let i = merchants::get_inspection(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    let m = readable_merchant(state, p, i.merchant_id.get())
        .await
        .map_err(|e| match e {
            AppError::NotFound { .. } => not_found(),
            other => other.into(),
        })?;
    Ok((i, m))
}

/// One inspection.
#[utoipa::path(get, path = "/api/v1/inspections/{id}", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = InspectionDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_inspection(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<InspectionDto>, ApiError> {
    let (i, _) = readable_inspection(&state, &p, id).await?;
    let numbers = case_numbers(&state, &i).await?;
    let photos = merchants::inspection_photos(&state.db, i.id).await?;
    Ok(Json(inspection_dto(i, &numbers, photos)))
}

/// Multipart form of an inspection photo.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct InspectionPhotoForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The item the photo shows (optional).
    pub item: Option<String>,
}

/// Attach a photo to an inspection (the inspecting officer), optionally for one item.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/photos", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content = InspectionPhotoForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = InspectionPhotoDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn add_inspection_photo(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
) -> Result<(StatusCode, Json<InspectionPhotoDto>), ApiError> {
    let (i, _) = readable_inspection(&state, &p, id).await?;
    if i.officer_id != p.user_id {
        return Err(ApiError::forbidden(
            "not_owner",
            "only the inspecting officer adds photos",
        ));
    }
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let item = upload.field("item").map(str::to_owned);
    if let Some(item) = &item
        && !i.results.iter().any(|r| &r.item == item)
    {
        return Err(ApiError::Unprocessable {
            code: "unknown_pledge_item",
            detail: format!("the inspection did not check item {item:?}"),
            field: Some("item".into()),
        });
    }
    if merchants::inspection_photos(&state.db, i.id).await?.len() as u64
        >= state.settings.attachments.max_per_case
    {
        return Err(ApiError::Conflict {
            code: "too_many_attachments",
            detail: "the inspection holds no more photos".into(),
        });
    }
    let image = media_store::store_image(&state, upload.take_file()?).await?;
    let txn = state.db.begin().await?;
    let photo = merchants::insert_inspection_photo(
        &txn,
        i.id,
        item.as_deref(),
        &image.sha256,
        image.mime,
        image.size,
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(photo.into())))
}

/// Download an inspection photo.
#[utoipa::path(get, path = "/api/v1/inspection-photos/{id}", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_inspection_photo(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("photo_not_found", "no such photo");
    let photo = merchants::get_inspection_photo(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    readable_inspection(&state, &p, photo.inspection_id)
        .await
        .map_err(|_| not_found())?;
    media_store::image_response(&state, &photo.sha256, &photo.mime, "private, max-age=86400").await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceDto {
    pub merchant_id: i64,
    /// Inspections considered (the latest `last`).
    pub inspections: u32,
    pub passed_inspections: u32,
    pub items_checked: u32,
    pub items_passed: u32,
    /// Share of inspections passed in full, 0–1; null before the first inspection.
    pub score: Option<f64>,
    /// Share of checked items passed, 0–1.
    pub item_pass_rate: Option<f64>,
    /// The pledge active today, if any.
    pub active_pledge_id: Option<i64>,
    /// Cases opened against the merchant by these inspections.
    pub cases_opened: u32,
}

/// A merchant's compliance over its last N inspections.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/compliance", tag = "merchants",
    params(("id" = i64, Path), LastQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = ComplianceDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn compliance(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LastQuery>,
) -> Result<Json<ComplianceDto>, ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    let list = merchants::inspections_of(&state.db, m.id, last_n(q.last)?).await?;
    let c = merchants::compliance(&list);
    let today = state.today();
    let active = merchants::pledges_of(&state.db, m.id)
        .await?
        .into_iter()
        .find(|r| r.pledge.status_on(today) == PledgeStatus::Active)
        .map(|r| r.pledge.id.get());
    Ok(Json(ComplianceDto {
        merchant_id: m.id.get(),
        inspections: c.inspections,
        passed_inspections: c.passed_inspections,
        items_checked: c.items_checked,
        items_passed: c.items_passed,
        score: c.score(),
        item_pass_rate: c.item_pass_rate(),
        active_pledge_id: active,
        cases_opened: list
            .iter()
            .flat_map(|i| &i.results)
            .filter(|r| r.case_id.is_some())
            .count() as u32,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OffenderQuery {
    pub community: Option<i64>,
    pub grid: Option<i64>,
    /// Look back this many days (1–366, default 90).
    pub days: Option<u32>,
    /// At least this many failed inspections (default 2).
    pub min_failures: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OffenderDto {
    pub merchant: MerchantDto,
    pub failed_inspections: i64,
    pub last_failed_at: DateTime<Utc>,
}

/// Repeat offenders: merchants with several failed inspections in the period, most failures
/// first, per community or grid.
#[utoipa::path(get, path = "/api/v1/merchants/repeat-offenders", tag = "merchants",
    params(OffenderQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<OffenderDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn repeat_offenders(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<OffenderQuery>,
) -> Result<Json<Vec<OffenderDto>>, ApiError> {
    let days = q.days.unwrap_or(90);
    if !(1..=366).contains(&days) {
        return Err(ApiError::Unprocessable {
            code: "invalid_value",
            detail: "days must be between 1 and 366".into(),
            field: Some("days".into()),
        });
    }
    let min = q.min_failures.unwrap_or(2).clamp(1, 1_000);
    let filter = MerchantFilter {
        scope: read_scope(&p)?,
        community: q.community.map(CommunityId::new).transpose()?,
        grid: q.grid.map(GridId::new).transpose()?,
        ..Default::default()
    };
    let since = state.now() - Duration::days(i64::from(days));
    let list = merchants::repeat_offenders(&state.db, since, i64::from(min), &filter).await?;
    Ok(Json(
        list.into_iter()
            .map(|o| OffenderDto {
                merchant: o.merchant.into(),
                failed_inspections: o.failed_inspections,
                last_failed_at: o.last_failed_at,
            })
            .collect(),
    ))
}
