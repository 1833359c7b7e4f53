//! Pledge items, pledges (门前四包) with their printable document and scanned signature.

use super::*;

// ---- pledge items ---------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PledgeItemDto {
    /// Stable code, e.g. `order`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// What the merchant undertakes.
    pub text: String,
}

impl From<SignedItem> for PledgeItemDto {
    fn from(i: SignedItem) -> Self {
        PledgeItemDto {
            code: i.code,
            name_zh: i.name_zh,
            name_en: i.name_en,
            text: i.text,
        }
    }
}

/// The items a new pledge contains (the city's, or the built-in four: 市容整洁, 环境卫生,
/// 公共秩序, 绿化与设施).
#[utoipa::path(get, path = "/api/v1/pledge-items", tag = "merchants",
    responses((status = 200, body = Vec<PledgeItemDto>)))]
pub(super) async fn get_pledge_items(
    State(state): State<AppState>,
) -> Result<Json<Vec<PledgeItemDto>>, ApiError> {
    let items = merchants::pledge_items(&state.db).await?;
    Ok(Json(
        items.iter().map(|i| SignedItem::from(i).into()).collect(),
    ))
}

/// Replace the city's pledge items (administrators). Pledges already signed keep their items.
#[utoipa::path(put, path = "/api/v1/pledge-items", tag = "merchants",
    request_body = Vec<PledgeItemDto>, security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<PledgeItemDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn put_pledge_items(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<Vec<PledgeItemDto>>,
) -> Result<Json<Vec<PledgeItemDto>>, ApiError> {
    let items = req
        .iter()
        .map(|i| {
            Ok(PledgeItem {
                code: Code::parse(&i.code)?,
                name: BilingualName::new(Name::parse(&i.name_zh)?, Name::parse(&i.name_en)?),
                text: clean_text("text", &i.text, 1_000, true)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let items = pledging::replace_items(&state, &p, items).await?;
    Ok(Json(
        items.iter().map(|i| SignedItem::from(i).into()).collect(),
    ))
}

// ---- pledges --------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignPledgeRequest {
    /// The stretch the merchant is responsible for, e.g. "门前至人行道边缘，东西各 5 米".
    pub frontage: String,
    /// `YYYY-MM-DD`, default today.
    pub signed_on: Option<String>,
    /// First day of validity, default the signing day.
    pub valid_from: Option<String>,
    /// Last day of validity (inclusive), default one year after `valid_from` minus a day.
    pub valid_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeDto {
    pub id: i64,
    /// The pledge's printed number (责任书编号), e.g. `MQ-2026-000001`.
    pub number: String,
    pub merchant_id: i64,
    /// The signing officer's account.
    pub officer_id: i64,
    pub frontage: String,
    pub signed_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// `pending`, `active`, `expired` or `revoked` — computed for today.
    pub status: String,
    pub revoked_on: Option<NaiveDate>,
    pub revoked_reason: Option<String>,
    /// The items as signed.
    pub items: Vec<PledgeItemDto>,
    pub signature_url: Option<String>,
    pub document_url: String,
    pub created_at: DateTime<Utc>,
}

pub(super) fn pledge_dto(r: PledgeRecord, today: NaiveDate) -> PledgeDto {
    let p = &r.pledge;
    PledgeDto {
        id: p.id.get(),
        number: r.number.as_str().to_owned(),
        merchant_id: p.merchant_id.get(),
        officer_id: p.signing_officer.get(),
        frontage: p.frontage.clone(),
        signed_on: p.signed_on,
        valid_from: p.validity.from(),
        valid_until: p.validity.until(),
        status: p.status_on(today).as_str().to_owned(),
        revoked_on: p.revoked_on,
        revoked_reason: r.revoked_reason.clone(),
        items: r.items.into_iter().map(PledgeItemDto::from).collect(),
        signature_url: r
            .signature
            .as_ref()
            .map(|_| format!("/api/v1/pledges/{}/signature", p.id)),
        document_url: format!("/api/v1/pledges/{}/document", p.id),
        created_at: r.created_at,
    }
}

pub(super) fn date(field: &'static str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| ApiError::Unprocessable {
                code: "invalid_date",
                detail: format!("{field} must be a date YYYY-MM-DD"),
                field: Some(field.into()),
            })
        })
        .transpose()
}

/// A merchant signs the four-responsibility pledge before the calling officer. The pledge
/// contains the city's current items. A merchant has one pledge at a time: validity may not
/// overlap another unrevoked pledge of the merchant (409 `pledge_overlaps`; renewals start after
/// the current one ends).
#[utoipa::path(post, path = "/api/v1/merchants/{id}/pledges", tag = "merchants",
    params(("id" = i64, Path)), request_body = SignPledgeRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = PledgeDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn sign_pledge(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SignPledgeRequest>,
) -> Result<(StatusCode, Json<PledgeDto>), ApiError> {
    let cmd = SignPledge {
        frontage: req.frontage,
        signed_on: date("signed_on", req.signed_on.as_deref())?,
        valid_from: date("valid_from", req.valid_from.as_deref())?,
        valid_until: date("valid_until", req.valid_until.as_deref())?,
    };
    let stored = pledging::sign(&state, &p, id, cmd).await?;
    Ok((StatusCode::CREATED, Json(pledge_dto(stored, state.today()))))
}

/// A merchant's pledges, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/pledges", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<PledgeDto>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn merchant_pledges(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<PledgeDto>>, ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    let today = state.today();
    let list = merchants::pledges_of(&state.db, m.id).await?;
    Ok(Json(
        list.into_iter().map(|r| pledge_dto(r, today)).collect(),
    ))
}

/// One pledge.
#[utoipa::path(get, path = "/api/v1/pledges/{id}", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = PledgeDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_pledge(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PledgeDto>, ApiError> {
    let (r, _) = readable_pledge(&state, &p, id).await?;
    Ok(Json(pledge_dto(r, state.today())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// Why (required).
    pub reason: String,
}

/// Revoke a pledge from today (e.g. the shop closed or changed hands).
#[utoipa::path(post, path = "/api/v1/pledges/{id}/revoke", tag = "merchants",
    params(("id" = i64, Path)), request_body = RevokeRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = PledgeDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn revoke_pledge(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> Result<Json<PledgeDto>, ApiError> {
    let reason = clean_text("reason", &req.reason, 1_000, true)?;
    let stored = pledging::revoke(&state, &p, id, reason).await?;
    Ok(Json(pledge_dto(stored, state.today())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiringQuery {
    /// Pledges whose validity ends within this many days from today (1–365, default 30).
    pub within_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringPledgeDto {
    pub pledge: PledgeDto,
    pub merchant: MerchantDto,
    pub days_left: i64,
}

/// Pledges expiring soon, soonest first, in the caller's jurisdiction (renewal work list; the
/// notifier reminds the stationed officer from the same query).
#[utoipa::path(get, path = "/api/v1/pledges/expiring", tag = "merchants",
    params(ExpiringQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ExpiringPledgeDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn expiring_pledges(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<ExpiringQuery>,
) -> Result<Json<Vec<ExpiringPledgeDto>>, ApiError> {
    let list = pledging::expiring(&state, &p, q.within_days.unwrap_or(30)).await?;
    let today = state.today();
    Ok(Json(
        list.into_iter()
            .map(|(r, m)| ExpiringPledgeDto {
                days_left: (r.pledge.validity.until() - today).num_days(),
                pledge: pledge_dto(r, today),
                merchant: m.into(),
            })
            .collect(),
    ))
}

/// Upload the scanned signature page of a pledge (JPEG/PNG/WebP).
#[utoipa::path(put, path = "/api/v1/pledges/{id}/signature", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content = crate::wire::PhotoForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = PledgeDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Over the pixel limit (`image_too_large`) or not decodable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn put_signature(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
) -> Result<Json<PledgeDto>, ApiError> {
    let (r, _) = pledging::signable(&state, &p, id).await?;
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let image = media_store::store_image(&state, upload.take_file()?).await?;
    let stored = pledging::set_signature(&state, &r, &image).await?;
    Ok(Json(pledge_dto(stored, state.today())))
}

/// The scanned signature page.
#[utoipa::path(get, path = "/api/v1/pledges/{id}/signature", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_signature(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (r, _) = readable_pledge(&state, &p, id).await?;
    let (sha, mime) = r
        .signature
        .ok_or_else(|| ApiError::not_found("signature_not_found", "no signature was uploaded"))?;
    media_store::image_response(&state, &sha, &mime, "private, max-age=86400").await
}

pub(super) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `name` without a leading list number such as "1.", "2、", "（三）" or "④", which would
/// print twice inside a numbered list ("1. 1、市容整洁").
pub(super) fn strip_enumerator(name: &str) -> &str {
    let t = name.trim_start();
    let numeral = |c: char| c.is_ascii_digit() || "一二三四五六七八九十".contains(c);
    let mut rest = t.trim_start_matches(['(', '（']);
    let had_open = rest.len() != t.len();
    let after = rest.trim_start_matches(numeral);
    if after.len() != rest.len() {
        rest = after;
        let closed = rest
            .strip_prefix(['、', '.', '．', ')', '）', ' '])
            .or_else(|| had_open.then_some(rest).filter(|r| r.is_empty()));
        if let Some(r) = closed {
            let r = r.trim_start();
            if !r.is_empty() {
                return r;
            }
        }
        return t;
    }
    if had_open {
        return t;
    }
    let mut chars = t.chars();
    match chars.next() {
        Some('\u{2460}'..='\u{2473}') => {
            let r = chars.as_str().trim_start();
            if r.is_empty() { t } else { r }
        }
        _ => t,
    }
}

/// The pledge as a printable page (HTML with print styles; "print to PDF" in any browser).
/// Opens with a Bearer token, or without one through a signed link from
/// `POST /api/v1/print-links` (a browser cannot send the header when a link is clicked).
#[utoipa::path(get, path = "/api/v1/pledges/{id}/document", tag = "merchants",
    params(("id" = i64, Path), LinkParams), security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Printable HTML", content_type = "text/html"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn pledge_document(
    State(state): State<AppState>,
    access: PrintAccess,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (r, m) = match access {
        PrintAccess::User(p) => readable_pledge(&state, &p, id).await?,
        // The link was signed for exactly this path, for someone who could read it.
        PrintAccess::Link => {
            let not_found = || ApiError::not_found("pledge_not_found", "no such pledge");
            let pid = PledgeId::new(id).map_err(|_| not_found())?;
            let r = merchants::get_pledge(&state.db, pid)
                .await
                .map_err(ApiError::when_missing(not_found()))?;
            let m = merchants::get_merchant(&state.db, r.pledge.merchant_id)
                .await
                .map_err(ApiError::when_missing(not_found()))?;
            (r, m)
        }
        PrintAccess::Anonymous => {
            return Err(ApiError::unauthorized(
                "unauthenticated",
                "this document needs a bearer access token or a signed print link",
            ));
        }
    };
    let officer =
        whistle_persistence::repo::users::get_user(&state.db, r.pledge.signing_officer).await?;
    let place = geography::get_community(&state.db, m.area.community).await?;
    let mut items = String::new();
    // The <ol> numbers the items, so a number a city typed into an item's name is left out.
    for item in &r.items {
        items.push_str(&format!(
            "<li><strong>{}</strong>：{}</li>\n",
            escape_html(strip_enumerator(&item.name_zh)),
            escape_html(&item.text)
        ));
    }
    let e = escape_html;
    let html = format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>门前四包责任书 · {name}</title>
<style>
@page {{ size: A4; margin: 20mm; }}
body {{ font-family: "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; line-height: 1.8; max-width: 170mm; margin: auto; }}
h1 {{ text-align: center; letter-spacing: .3em; }}
table {{ width: 100%; border-collapse: collapse; }} td {{ padding: 4px 0; vertical-align: top; }}
.sign {{ display: flex; justify-content: space-between; margin-top: 24mm; }}
</style></head>
<body>
<h1>门前四包责任书</h1>
<p>编号：{id}</p>
<table>
<tr><td>责任单位（商户）：</td><td>{name}</td></tr>
<tr><td>统一社会信用代码：</td><td>{licence}</td></tr>
<tr><td>负责人：</td><td>{owner}</td></tr>
<tr><td>地址：</td><td>{address}</td></tr>
<tr><td>所在社区：</td><td>{district}{street}{community}</td></tr>
<tr><td>责任区域：</td><td>{frontage}</td></tr>
<tr><td>有效期：</td><td>{from} 至 {until}</td></tr>
</table>
<p>责任单位承诺在责任区域内做到：</p>
<ol>
{items}</ol>
<div class="sign">
<div>责任单位（签章）：<br><br>负责人签字：</div>
<div>{bureau}<br>经办队员：{officer}<br>签订日期：{signed}</div>
</div>
</body></html>
"#,
        id = e(r.number.as_str()),
        name = e(&m.name),
        licence = e(&m.licence_number),
        owner = e(&m.owner_name),
        address = e(&m.address),
        district = e(place.district.name.as_str()),
        street = e(place.street.name.as_str()),
        community = e(place.community.name.as_str()),
        frontage = e(&r.pledge.frontage),
        from = r.pledge.validity.from(),
        until = r.pledge.validity.until(),
        items = items,
        bureau = e(&format!(
            "{}{}",
            place.district.name.as_str(),
            state.settings.app.bureau_suffix
        )),
        officer = e(officer.display_name.as_str()),
        signed = r.pledge.signed_on,
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok((StatusCode::OK, headers, html).into_response())
}

#[cfg(test)]
mod tests {
    use super::strip_enumerator;

    #[test]
    fn list_numbers_typed_into_item_names_are_left_to_the_list() {
        for (name, shown) in [
            ("市容整洁", "市容整洁"),
            ("1、市容整洁", "市容整洁"),
            ("2. 环境卫生", "环境卫生"),
            ("（三）绿化", "绿化"),
            ("(4) 秩序", "秩序"),
            ("④设施", "设施"),
            ("十、其他", "其他"),
            // Not list numbers.
            ("3号门面", "3号门面"),
            ("一次性餐具", "一次性餐具"),
            ("1、", "1、"),
            ("12345", "12345"),
        ] {
            assert_eq!(strip_enumerator(name), shown, "{name}");
        }
    }
}
