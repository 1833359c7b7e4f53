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
    let items = req
        .results
        .iter()
        .map(|r| {
            Ok(Checked {
                result: ItemResult::new(&r.item, r.passed, r.note.as_deref())?,
                open_case: r
                    .open_case
                    .as_ref()
                    .map(|open| {
                        Ok::<_, ApiError>(OpenCase {
                            category: open.category.clone(),
                            description: open
                                .description
                                .as_deref()
                                .filter(|s| !s.trim().is_empty())
                                .map(Description::parse)
                                .transpose()?,
                            priority: open.priority.as_deref().map(str::parse),
                        })
                    })
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let cmd = Inspect {
        pledge_id: req.pledge_id,
        note: req
            .note
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| clean_text("note", s, 2_000, true))
            .transpose()?,
        items,
    };
    let done = inspecting::inspect(&state, &p, id, cmd).await?;
    Ok((
        StatusCode::CREATED,
        Json(inspection_dto(done.record, &done.case_numbers, Vec::new())),
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
    let max = state.settings.attachments.max_per_case;
    let i = inspecting::may_add_photo(&state, &p, id, max).await?;
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let item = upload.field("item").map(str::to_owned);
    inspecting::photo_item(&i, item.as_deref())?;
    let image = media_store::store_image(&state, upload.take_file()?).await?;
    let photo = inspecting::add_photo(&state, &i, item.as_deref(), &image).await?;
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
