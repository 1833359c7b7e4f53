//! Inspections against a pledge (门前四包检查): per item pass or fail with a note; a failed item
//! can open a case against the merchant in the same transaction as the inspection.

use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ValueError;
use whistle_domain::case::{Case, Description, Priority};
use whistle_domain::ids::CaseId;
use whistle_domain::inspection::{self, InspectionError, ItemResult};
use whistle_domain::location::Crs;
use whistle_domain::merchant::Address;
use whistle_domain::pledge::PledgeStatus;
use whistle_persistence::repo::merchants::{
    self, InspectionPhoto, InspectionRecord, NewInspection,
};

use crate::app::AppError;
use crate::app::access::require;
use crate::app::attachments::StoredImage;
use crate::app::cases::intake::{self, Channel, Report, Whereabouts};
use crate::app::merchants::{readable_inspection, readable_merchant};
use crate::state::AppState;

/// The most item results one inspection holds.
pub const MAX_RESULTS: usize = 50;

/// A case to open for a failed item.
#[derive(Debug, Clone)]
pub struct OpenCase {
    pub category: String,
    /// Default: the item's name, the merchant's and the item's note.
    pub description: Option<Description>,
    /// Default: the category's.
    pub priority: Option<Result<Priority, ValueError>>,
}

/// One checked item, and the case it opens if it failed.
#[derive(Debug, Clone)]
pub struct Checked {
    pub result: ItemResult,
    pub open_case: Option<OpenCase>,
}

/// An inspection by the calling officer.
#[derive(Debug, Clone)]
pub struct Inspect {
    /// Default: the merchant's pledge active today.
    pub pledge_id: Option<i64>,
    pub note: Option<String>,
    pub items: Vec<Checked>,
}

/// What an inspection wrote: the record and the number of each case it opened.
#[derive(Debug)]
pub struct Inspected {
    pub record: InspectionRecord,
    pub case_numbers: Vec<(CaseId, String)>,
}

fn inspection_error(e: InspectionError) -> AppError {
    match e {
        InspectionError::PledgeNotActive(_) => {
            AppError::conflict("pledge_not_active", e.to_string())
        }
        InspectionError::UnknownItem(_) => {
            AppError::invalid("unknown_pledge_item", "results", e.to_string())
        }
        InspectionError::DuplicateItem(_) | InspectionError::Empty => {
            AppError::invalid("invalid_results", "results", e.to_string())
        }
    }
}

/// Inspects a merchant against its pledge. The inspection and the cases its failed items open
/// are written together or not at all.
pub async fn inspect(
    state: &AppState,
    p: &Principal,
    merchant_id: i64,
    cmd: Inspect,
) -> Result<Inspected, AppError> {
    let m = readable_merchant(state, p, merchant_id).await?;
    require(p, Action::InspectMerchant, &Resource::at(m.area))?;
    let today = state.today();
    let pledges = merchants::pledges_of(&state.db, m.id).await?;
    let pledge = match cmd.pledge_id {
        Some(pid) => pledges
            .iter()
            .find(|r| r.pledge.id.get() == pid)
            .ok_or_else(|| {
                AppError::invalid(
                    "unknown_pledge",
                    "pledge_id",
                    "the merchant has no such pledge",
                )
            })?,
        None => pledges
            .iter()
            .find(|r| r.pledge.status_on(today) == PledgeStatus::Active)
            .ok_or_else(|| {
                AppError::conflict(
                    "pledge_not_active",
                    "the merchant has no active pledge to inspect against",
                )
            })?,
    };
    if cmd.items.len() > MAX_RESULTS {
        return Err(AppError::invalid(
            "invalid_results",
            "results",
            "too many results",
        ));
    }
    let results: Vec<ItemResult> = cmd.items.iter().map(|c| c.result.clone()).collect();
    let codes: Vec<&str> = pledge.items.iter().map(|i| i.code.as_str()).collect();
    inspection::check(pledge.pledge.status_on(today), &codes, &results)
        .map_err(inspection_error)?;

    // Prepare every case before the transaction (validation, routing, SLA), as intake does.
    let mut prepared = Vec::new();
    for checked in &cmd.items {
        let Some(open) = &checked.open_case else {
            continue;
        };
        let r = &checked.result;
        if r.passed {
            return Err(AppError::invalid(
                "invalid_results",
                "open_case",
                format!(
                    "item {:?} passed; only a failed item opens a case",
                    r.item.as_str()
                ),
            ));
        }
        let description = match &open.description {
            Some(d) => d.clone(),
            None => {
                let item = pledge
                    .items
                    .iter()
                    .find(|i| i.code == r.item.as_str())
                    .map(|i| i.name_zh.clone())
                    .unwrap_or_default();
                Description::parse(&format!(
                    "门前四包检查未通过：{}（{}）。{}",
                    item,
                    m.name,
                    r.note.as_deref().unwrap_or_default()
                ))?
            }
        };
        let report = Report {
            category: open.category.clone(),
            description,
            whereabouts: Whereabouts::Point {
                point: m.location,
                crs: Crs::Wgs84,
            },
            address: Some(m.address.as_str())
                .filter(|a| !a.trim().is_empty())
                .map(Address::parse)
                .transpose()?,
            address_text: Some(m.address.clone()),
            priority: open.priority.clone(),
            case_type: None,
            reporter_name: None,
            reporter_phone: None,
            attributes: Default::default(),
        };
        let mut case =
            intake::prepare(state, Some(p), &report, Channel::Native, None, None).await?;
        case.new.merchant_id = Some(m.id);
        prepared.push((r.item.as_str().to_owned(), case));
    }

    let mut numbers = Vec::with_capacity(prepared.len());
    for (_, case) in &prepared {
        numbers.push(intake::reserve_number(state, case).await?);
    }
    let txn = state.db.begin().await?;
    let mut opened: Vec<(String, Case)> = Vec::new();
    for ((item, case), number) in prepared.iter().zip(&numbers) {
        opened.push((
            item.clone(),
            intake::insert(&txn, case, number, Some(p)).await?,
        ));
    }
    let links: Vec<(String, CaseId)> = opened.iter().map(|(i, c)| (i.clone(), c.id)).collect();
    let record = merchants::insert_inspection(
        &txn,
        &NewInspection {
            merchant: m.id,
            pledge: pledge.pledge.id,
            officer: p.user_id,
            at: state.now(),
            note: cmd.note.as_deref(),
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
    Ok(Inspected {
        record,
        case_numbers: opened
            .iter()
            .map(|(_, c)| (c.id, c.number.as_str().to_owned()))
            .collect(),
    })
}

/// The inspection, if the caller inspected it, may still read it, and it has room for another
/// photo (`max_photos`).
pub async fn may_add_photo(
    state: &AppState,
    p: &Principal,
    id: i64,
    max_photos: u64,
) -> Result<InspectionRecord, AppError> {
    let (i, _) = readable_inspection(state, p, id).await?;
    if i.officer_id != p.user_id {
        return Err(AppError::forbidden(
            "not_owner",
            "only the inspecting officer adds photos",
        ));
    }
    if merchants::inspection_photos(&state.db, i.id).await?.len() as u64 >= max_photos {
        return Err(AppError::conflict(
            "too_many_attachments",
            "the inspection holds no more photos",
        ));
    }
    Ok(i)
}

/// The item a photo shows, if given: one the inspection checked.
pub fn photo_item(i: &InspectionRecord, item: Option<&str>) -> Result<(), AppError> {
    match item {
        Some(item) if !i.results.iter().any(|r| r.item == item) => Err(AppError::invalid(
            "unknown_pledge_item",
            "item",
            format!("the inspection did not check item {item:?}"),
        )),
        _ => Ok(()),
    }
}

/// Adds a stored photo to the inspection [`may_add_photo`] allowed.
pub async fn add_photo(
    state: &AppState,
    i: &InspectionRecord,
    item: Option<&str>,
    image: &StoredImage,
) -> Result<InspectionPhoto, AppError> {
    let txn = state.db.begin().await?;
    let photo = merchants::insert_inspection_photo(
        &txn,
        i.id,
        item,
        &image.sha256,
        image.mime,
        image.size,
        state.now(),
    )
    .await?;
    txn.commit().await?;
    Ok(photo)
}
