//! The demo city: Lianyungang's Haizhou district (海州区), seeded once and idempotently.
//!
//! **Synthetic data.** Street and community names follow the source article (文昌社区 is where
//! officer 田野 of 海州一大队 met residents); the codes follow the shape of China's statistical
//! division codes under Haizhou's real prefix 320706, but are not the official ones. Boundaries
//! are rectangles placed near the real coordinates of Haizhou (around 34.59° N, 119.14° E,
//! WGS-84); they are not survey data. Every row is found by its code before it is inserted, so
//! seeding twice changes nothing.

use chrono::{DateTime, Utc};
use std::fmt;

use anyhow::Context;
use sea_orm::TransactionTrait;
use whistle_auth::password::{self, Password};
use whistle_domain::case::{CaseType, Priority};
use whistle_domain::geography::{Boundary, CasePrefix};
use whistle_domain::jurisdiction::{Area, AreaLevel, AreaPath, Jurisdiction};
use whistle_domain::location::Coordinate;
use whistle_domain::people::{BadgeNumber, NewUser, PhoneNumber, Role, Username};
use whistle_domain::place::PlaceKind;
use whistle_domain::text::{BilingualName, Code, Name};
use whistle_domain::worklog::{
    Activity, Class721, Classification, Notes, Participant, WorkLogSpan,
};
use whistle_persistence::DatabaseConnection;
use whistle_persistence::repo::categories::{NewCategory, ensure_category};
use whistle_persistence::repo::geography::{
    ensure_community, ensure_district, ensure_grid, ensure_street, find_area_by_code, get_community,
};
use whistle_persistence::repo::users::{
    NewOfficer, create_user, find_by_username, set_jurisdiction,
};
use whistle_persistence::repo::{geography, places};

/// The password of every demo account. Printed at start; the demo is not for production data.
pub const DEMO_PASSWORD: &str = "whistle-demo-2026";

/// South-west corner of the demo grid of communities (WGS-84).
const ORIGIN_LON: f64 = 119.140;
const ORIGIN_LAT: f64 = 34.585;
/// Size of one community rectangle: about 730 m east-west by 670 m north-south here.
const COMMUNITY_DLON: f64 = 0.008;
const COMMUNITY_DLAT: f64 = 0.006;

struct StreetSpec {
    code: &'static str,
    name: &'static str,
    communities: [(&'static str, &'static str); 2],
}

const STREETS: [StreetSpec; 3] = [
    StreetSpec {
        code: "320706001",
        name: "海州街道",
        communities: [("320706001001", "文昌社区"), ("320706001002", "鼓楼社区")],
    },
    StreetSpec {
        code: "320706002",
        name: "新海街道",
        communities: [("320706002001", "建设社区"), ("320706002002", "龙河社区")],
    },
    StreetSpec {
        code: "320706003",
        name: "幸福路街道",
        communities: [("320706003001", "幸福社区"), ("320706003002", "陇海社区")],
    },
];

const GRID_NAMES: [&str; 4] = ["第一网格", "第二网格", "第三网格", "第四网格"];

/// Categories the command centre weighs before anyone is sent (big matters: 大事一网联动);
/// the stationed officer may take every other category himself (小事一格解决).
const COMMAND_CENTRE_FIRST: [&str; 2] = ["illegal_construction", "construction_waste"];

/// The article's problems, and a few more every bureau handles.
const CATEGORIES: [(&str, &str, &str, CaseType, Priority); 11] = [
    (
        "noise",
        "噪声扰民",
        "Noise nuisance (e.g. loudspeaker hawking)",
        CaseType::Complaint,
        Priority::High,
    ),
    (
        "street_vending",
        "游商占道经营",
        "Street vending blocking the road",
        CaseType::Complaint,
        Priority::Normal,
    ),
    (
        "shop_encroachment",
        "出店经营",
        "Shop business spilling onto the pavement",
        CaseType::Complaint,
        Priority::Normal,
    ),
    (
        "green_encroachment",
        "占绿毁绿",
        "Encroachment on or damage to green space",
        CaseType::Complaint,
        Priority::Normal,
    ),
    (
        "household_waste",
        "生活垃圾乱堆放",
        "Household garbage piled up",
        CaseType::Complaint,
        Priority::Normal,
    ),
    (
        "construction_waste",
        "建筑垃圾乱堆放",
        "Construction rubble dumped",
        CaseType::Complaint,
        Priority::High,
    ),
    (
        "illegal_construction",
        "违法搭建",
        "Illegal construction or shed",
        CaseType::Complaint,
        Priority::High,
    ),
    (
        "garbage_sorting",
        "垃圾分类",
        "Garbage sorting",
        CaseType::Complaint,
        Priority::Low,
    ),
    (
        "outdoor_advertising",
        "户外广告乱设",
        "Unauthorised outdoor advertising",
        CaseType::Complaint,
        Priority::Low,
    ),
    (
        "facility_damage",
        "公共设施损坏",
        "Damaged public facilities",
        CaseType::HelpRequest,
        Priority::Normal,
    ),
    (
        "consultation",
        "城管政策咨询",
        "Question about city-management rules",
        CaseType::Consultation,
        Priority::Low,
    ),
];

/// A demo account as printed at start.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: &'static str,
    pub role: Role,
    pub display_name: &'static str,
}

struct AccountSpec {
    username: &'static str,
    display_name: &'static str,
    role: Role,
    phone: Option<&'static str>,
    badge: Option<(&'static str, &'static str)>,
    /// Where the account acts, by area code.
    areas: &'static [(AreaLevel, &'static str)],
}

const ACCOUNTS: [AccountSpec; 7] = [
    AccountSpec {
        username: "admin",
        display_name: "系统管理员",
        role: Role::Admin,
        phone: None,
        badge: None,
        areas: &[],
    },
    AccountSpec {
        username: "dispatcher",
        display_name: "指挥中心值班员",
        role: Role::Dispatcher,
        phone: None,
        badge: None,
        areas: &[],
    },
    AccountSpec {
        username: "leader.haizhou1",
        display_name: "海州一大队大队长",
        role: Role::Leader,
        phone: Some("13905180001"),
        badge: Some(("HZ0100", "海州一大队")),
        areas: &[(AreaLevel::Street, "320706001")],
    },
    AccountSpec {
        username: "tianye",
        display_name: "田野",
        role: Role::Officer,
        phone: Some("13905180101"),
        badge: Some(("HZ0101", "海州一大队")),
        areas: &[(AreaLevel::Community, "320706001001")],
    },
    AccountSpec {
        username: "officer.gulou",
        display_name: "李晨",
        role: Role::Officer,
        phone: Some("13905180102"),
        badge: Some(("HZ0102", "海州一大队")),
        areas: &[(AreaLevel::Community, "320706001002")],
    },
    AccountSpec {
        username: "wenchang.wuye",
        display_name: "文昌社区物业服务中心",
        role: Role::Partner,
        phone: None,
        badge: None,
        areas: &[(AreaLevel::Community, "320706001001")],
    },
    AccountSpec {
        username: "13800001234",
        display_name: "张师傅",
        role: Role::Resident,
        phone: Some("13800001234"),
        badge: None,
        areas: &[],
    },
];

/// What seeding did.
#[derive(Debug, Default, Clone)]
pub struct DemoReport {
    pub communities: usize,
    pub grids: usize,
    pub categories: usize,
    pub accounts_created: usize,
    /// Address-book entries (each community, and landmarks and addresses of 文昌社区 and
    /// 鼓楼社区), created or brought up to date.
    pub places: usize,
    /// Work-log entries of 田野 seeded now (none when he already has some).
    pub work_logs_created: usize,
    pub accounts: Vec<DemoAccount>,
}

/// 田野's work in 文昌社区 over the last three weeks: days ago, local start hour, minutes,
/// activity, the class chosen by hand (if any), participants without accounts, notes. Mostly
/// service, some management, one enforcement: 360 minutes of service in five entries (one a
/// patrol he classed as service), 150 of management in two, 30 of enforcement in one.
type DemoWorkLog = (
    i64,
    u32,
    i64,
    Activity,
    Option<Class721>,
    &'static [&'static str],
    &'static str,
);

const WORK_LOGS: [DemoWorkLog; 8] = [
    (
        20,
        9,
        120,
        Activity::HomeVisit,
        None,
        &[],
        "走访独居老人，了解生活需求，登记需要帮助的事项",
    ),
    (
        17,
        14,
        90,
        Activity::LegalEducation,
        None,
        &[],
        "上门普法：向南门沿街商户讲解门前四包责任",
    ),
    (
        14,
        19,
        60,
        Activity::Lecture,
        None,
        &[],
        "社区广场垃圾分类讲座",
    ),
    (
        11,
        10,
        45,
        Activity::Mediation,
        None,
        &[],
        "调解楼上楼下噪声纠纷，双方达成一致",
    ),
    (
        9,
        7,
        90,
        Activity::Patrol,
        None,
        &[],
        "早高峰巡查北门游商占道经营",
    ),
    (
        6,
        15,
        60,
        Activity::JointAction,
        None,
        &["物业王经理"],
        "城管+物业联合清理楼道堆物",
    ),
    (
        4,
        8,
        30,
        Activity::Enforcement,
        None,
        &[],
        "北门游商经劝导仍占道经营，依法暂扣经营物品",
    ),
    (
        2,
        16,
        45,
        Activity::Patrol,
        Some(Class721::Service),
        &[],
        "巡查中帮助行动不便的老人联系物业维修门禁",
    ),
];

/// The demo city's local time (China Standard Time), for placing the demo work at office hours.
const DEMO_UTC_OFFSET_SECS: i32 = 8 * 3600;

/// Seeds 田野's work log once: only when he has no entries yet, so seeding again (or after he
/// logged work himself) adds nothing.
async fn seed_work_logs(
    txn: &sea_orm::DatabaseTransaction,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    use chrono::{Duration, FixedOffset, Utc};
    use whistle_persistence::repo::worklogs::{self, NewWorkLog};
    let Some(tianye) = find_by_username(txn, &Username::parse("tianye")?).await? else {
        return Ok(0);
    };
    if worklogs::count_of_officer(txn, tianye.user.id).await? > 0 {
        return Ok(0);
    }
    let Some(Area::Community(wenchang)) =
        find_area_by_code(txn, AreaLevel::Community, &code("320706001001")?).await?
    else {
        anyhow::bail!("demo community 文昌社区 is missing");
    };
    let place = get_community(txn, wenchang).await?;
    let area = AreaPath {
        district: place.district.id,
        street: place.street.id,
        community: wenchang,
    };
    let local = FixedOffset::east_opt(DEMO_UTC_OFFSET_SECS).context("demo offset")?;
    let today = now.with_timezone(&local).date_naive();
    for (days_ago, hour, minutes, activity, class, people, notes) in WORK_LOGS {
        let start = (today - Duration::days(days_ago))
            .and_hms_opt(hour, 0, 0)
            .and_then(|t| t.and_local_timezone(local).single())
            .context("demo work time")?
            .with_timezone(&Utc);
        let span = WorkLogSpan::new(start, start + Duration::minutes(minutes), now)?;
        let participants = people
            .iter()
            .map(|n| Ok(Participant::Named(name(n)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        worklogs::insert(
            txn,
            &NewWorkLog {
                officer: tianye.user.id,
                activity,
                classification: Classification::of(activity, class),
                span,
                area,
                grid: None,
                point: None,
                participants,
                notes: Some(Notes::parse(notes)?),
                cases: Vec::new(),
                merchants: Vec::new(),
                now,
            },
        )
        .await?;
    }
    Ok(WORK_LOGS.len())
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Demo city 连云港市海州区: {} communities, {} grids, {} case categories, {} address-book entries ({} accounts created now).",
            self.communities, self.grids, self.categories, self.places, self.accounts_created
        )?;
        writeln!(f, "Demo accounts (password for all: {DEMO_PASSWORD}):")?;
        for a in &self.accounts {
            writeln!(
                f,
                "  {:<18} {:<11} {}",
                a.username,
                a.role.as_str(),
                a.display_name
            )?;
        }
        Ok(())
    }
}

fn code(s: &str) -> anyhow::Result<Code> {
    Code::parse(s).with_context(|| format!("demo code {s}"))
}

fn name(s: &str) -> anyhow::Result<Name> {
    Name::parse(s).with_context(|| format!("demo name {s}"))
}

fn rectangle(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> anyhow::Result<Boundary> {
    let ring = [
        (min_lon, min_lat),
        (max_lon, min_lat),
        (max_lon, max_lat),
        (min_lon, max_lat),
        (min_lon, min_lat),
    ];
    let coords: Vec<String> = ring
        .iter()
        .map(|(x, y)| format!("[{x:.6},{y:.6}]"))
        .collect();
    Boundary::from_geojson(&format!(
        r#"{{"type":"Polygon","coordinates":[[{}]]}}"#,
        coords.join(",")
    ))
    .context("demo boundary")
}

/// The WGS-84 rectangle of the demo community at `row` (street) and `col`: public so tests and
/// documentation can name points inside 文昌社区 (row 0, col 0).
pub fn community_rect(row: usize, col: usize) -> [f64; 4] {
    let min_lon = ORIGIN_LON + COMMUNITY_DLON * col as f64;
    let min_lat = ORIGIN_LAT + COMMUNITY_DLAT * row as f64;
    [
        min_lon,
        min_lat,
        min_lon + COMMUNITY_DLON,
        min_lat + COMMUNITY_DLAT,
    ]
}

/// Time limits per priority for the demo: accept, dispatch, sign, resolve, verify. Noise and
/// vending are settled quickly (the article: "噪声扰民问题，我们马上解决"); construction matters
/// take longer to resolve.
const SLA: [(Priority, [&str; 5]); 4] = [
    (Priority::Urgent, ["1h", "1h", "1h", "4h", "24h"]),
    (Priority::High, ["2wh", "2wh", "2wh", "1wd", "1wd"]),
    (Priority::Normal, ["4wh", "4wh", "4wh", "3wd", "2wd"]),
    (Priority::Low, ["1wd", "1wd", "1wd", "5wd", "3wd"]),
];

/// The 2026 public holidays and make-up working days as demo data. A city enters the official
/// schedule published by the State Council each year through the calendar admin endpoint.
const HOLIDAYS_2026: [&str; 5] = [
    "2026-01-01",
    "2026-10-01",
    "2026-10-02",
    "2026-10-05",
    "2026-10-06",
];
const MAKEUP_2026: [&str; 1] = ["2026-10-10"];

/// Officers stationed in their communities (田野 in 文昌社区, as in the article), 文昌社区's
/// property company with its partner account, and one merchant near 文昌社区's south gate with a
/// four-responsibility pledge that runs out in ten days: inside the 30-day renewal list and the
/// notifier's 14-day reminder window, so both show it. Dates are relative to the day of seeding;
/// nothing is added twice.
async fn seed_community_ops(
    txn: &sea_orm::DatabaseTransaction,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use chrono::Duration;
    use whistle_domain::ids::{CommunityId, PledgeId};
    use whistle_domain::jurisdiction::Area;
    use whistle_domain::merchant::LicenceNumber;
    use whistle_domain::pledge::{Pledge, Validity};
    use whistle_domain::stationing::Period;
    use whistle_persistence::repo::{community, merchants};

    let today = (now + Duration::hours(8)).date_naive();
    let community_of = |area: Area| match area {
        Area::Community(c) => Ok(c),
        _ => Err(anyhow::anyhow!("not a community")),
    };
    let wenchang: CommunityId = community_of(
        find_area_by_code(txn, AreaLevel::Community, &code("320706001001")?)
            .await?
            .context("文昌社区")?,
    )?;
    let gulou: CommunityId = community_of(
        find_area_by_code(txn, AreaLevel::Community, &code("320706001002")?)
            .await?
            .context("鼓楼社区")?,
    )?;
    let stations = [
        (
            "tianye",
            wenchang,
            "巡查文昌社区责任区；受理居民“吹哨”诉求；走访商户、上门普法",
            "市容环境卫生、户外广告、占道经营、社会生活噪声、违法建设",
        ),
        (
            "officer.gulou",
            gulou,
            "巡查鼓楼社区责任区；受理居民诉求；协助物业开展联合整治",
            "市容环境卫生、占道经营、社会生活噪声",
        ),
    ];
    for (username, community_id, duties, scope) in stations {
        let user = find_by_username(txn, &Username::parse(username)?)
            .await?
            .context("demo officer")?
            .user;
        if !community::of_officer(txn, user.id).await?.is_empty() {
            continue;
        }
        community::insert(
            txn,
            &community::NewStationing {
                officer_id: user.id,
                community_id,
                duties: Some(duties.to_owned()),
                enforcement_scope: Some(scope.to_owned()),
                office_hours: Some("周一至周五 8:30–17:30（社区城管工作站）".to_owned()),
                contact_phone: None,
                period: Period::new(today - Duration::days(180), None)?,
                created_by: None,
            },
            now,
        )
        .await?;
    }

    if community::list_organisations(txn, Some(wenchang))
        .await?
        .is_empty()
    {
        let org = community::insert_organisation(
            txn,
            whistle_domain::stationing::OrganisationKind::PropertyCompany,
            "文昌物业服务有限公司",
            wenchang,
            Some("王经理"),
            Some("13905180201"),
            now,
        )
        .await?;
        let partner = find_by_username(txn, &Username::parse("wenchang.wuye")?)
            .await?
            .context("demo partner")?
            .user;
        community::set_member(txn, org.id, partner.id).await?;
    }

    let licence = LicenceNumber::with_check_digit("91320706MA1W2X3Y4")?;
    if merchants::find_by_licence(txn, licence.as_str())
        .await?
        .is_none()
    {
        // Just inside 文昌社区's south-west grid, a few metres from the south gate.
        let [x0, y0, x1, y1] = community_rect(0, 0);
        let point = Coordinate::wgs84(y0 + (y1 - y0) * 0.08, x0 + (x1 - x0) * 0.3)?;
        let grid = geography::list_grids(txn, Some(wenchang))
            .await?
            .into_iter()
            .next()
            .context("文昌社区's grids")?;
        let place = geography::get_community(txn, wenchang).await?;
        let tianye = find_by_username(txn, &Username::parse("tianye")?)
            .await?
            .context("tianye")?
            .user;
        let merchant = merchants::insert_merchant(
            txn,
            &merchants::MerchantFields {
                name: "文昌便民超市".to_owned(),
                licence_number: licence.as_str().to_owned(),
                owner_name: "刘老板".to_owned(),
                owner_phone: "13905180301".to_owned(),
                address: "海州区文昌路 18 号（文昌社区南门西侧）".to_owned(),
                business_type: "零售".to_owned(),
                location: point,
                grid_id: grid.id,
                area: whistle_domain::jurisdiction::AreaPath {
                    district: place.district.id,
                    street: place.street.id,
                    community: wenchang,
                },
            },
            tianye.id,
            now,
        )
        .await?;
        let items: Vec<merchants::SignedItem> = merchants::pledge_items(txn)
            .await?
            .iter()
            .map(merchants::SignedItem::from)
            .collect();
        let signed = today - Duration::days(300);
        merchants::insert_pledge(
            txn,
            &Pledge::new(
                PledgeId::new(1)?,
                merchant.id,
                tianye.id,
                "店门前至人行道边缘，东西各至相邻商户分界线",
                signed,
                Validity::new(signed, today + Duration::days(10))?,
            )?,
            &items,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Extra questions for two categories, so that apps can show them.
async fn seed_questions(txn: &sea_orm::DatabaseTransaction) -> anyhow::Result<()> {
    use whistle_domain::category::{AttributeKind, AttributeSpec, ChoiceOption};
    use whistle_persistence::repo::categories;
    let label = |zh: &str, en: &str| -> anyhow::Result<BilingualName> {
        Ok(BilingualName::new(name(zh)?, name(en)?))
    };
    let questions = [
        (
            "noise",
            AttributeSpec::new(
                code("period")?,
                label("扰民时段", "When does it happen")?,
                AttributeKind::Choice {
                    options: vec![
                        ChoiceOption::new(
                            code("morning")?,
                            label("清晨（6–8 时）", "Early morning (6–8)")?,
                        ),
                        ChoiceOption::new(code("day")?, label("白天", "Daytime")?),
                        ChoiceOption::new(
                            code("evening")?,
                            label("傍晚（18–22 时）", "Evening (18–22)")?,
                        ),
                        ChoiceOption::new(
                            code("night")?,
                            label("夜间（22 时后）", "Night (after 22)")?,
                        ),
                    ],
                },
                false,
            )?,
        ),
        (
            "illegal_construction",
            AttributeSpec::new(
                code("area_m2")?,
                label("估计面积（平方米）", "Estimated area (m²)")?,
                AttributeKind::Number {
                    min: Some(0.0),
                    max: Some(100_000.0),
                },
                false,
            )?,
        ),
    ];
    for (category, spec) in questions {
        if let Some(c) = categories::get_by_code(txn, category).await?
            && c.attributes.is_empty()
        {
            categories::set_attributes(txn, c.id, &[spec]).await?;
        }
    }
    Ok(())
}

async fn seed_sla(txn: &sea_orm::DatabaseTransaction) -> anyhow::Result<()> {
    use whistle_domain::calendar::{SlaPolicy, TimeLimit, WorkingCalendar};
    use whistle_persistence::repo::{categories, sla};
    for category in categories::list_categories(txn, true).await? {
        for (priority, limits) in SLA {
            if sla::policy_for(txn, category.id, priority).await?.is_some() {
                continue;
            }
            let parsed = limits.map(|l| TimeLimit::parse(l).expect("static limit"));
            sla::set_policy(txn, category.id, priority, &SlaPolicy::new(parsed)).await?;
        }
    }
    if !sla::calendar_is_configured(txn).await? {
        let standard = WorkingCalendar::standard();
        let day = |d: &str| d.parse::<chrono::NaiveDate>().expect("static date");
        let calendar = WorkingCalendar::new(
            standard.windows().to_vec(),
            standard.weekend().to_vec(),
            HOLIDAYS_2026.iter().map(|d| day(d)).collect(),
            MAKEUP_2026.iter().map(|d| day(d)).collect(),
        )?;
        sla::save_calendar(txn, &calendar).await?;
    }
    Ok(())
}

/// Seeds the demo city in one transaction; running it again changes nothing.
pub async fn seed(db: &DatabaseConnection) -> anyhow::Result<DemoReport> {
    // The demo city is seeded as of the moment the command runs: the one clock reading here.
    let now = whistle_domain::time::Clock::now(&whistle_domain::time::SystemClock);
    // Hash outside the transaction: argon2 takes tens of milliseconds per account and must not
    // hold a write lock (SQLite) meanwhile. Only accounts that do not exist yet are hashed.
    let mut missing = Vec::new();
    for spec in &ACCOUNTS {
        let username = Username::parse(spec.username)?;
        if find_by_username(db, &username).await?.is_none() {
            missing.push(spec);
        }
    }
    let mut hashes = Vec::with_capacity(missing.len());
    for _ in &missing {
        let hash = tokio::task::spawn_blocking(|| {
            let p = Password::new(DEMO_PASSWORD, &[]).map_err(anyhow::Error::from)?;
            password::hash(&p).map_err(anyhow::Error::from)
        })
        .await??;
        hashes.push(hash);
    }

    let txn = db.begin().await?;
    let mut report = DemoReport::default();
    let district = ensure_district(
        &txn,
        &code("320706")?,
        &name("海州区")?,
        &CasePrefix::parse("HZ")?,
        now,
    )
    .await?;
    for (row, spec) in STREETS.iter().enumerate() {
        let street =
            ensure_street(&txn, district.id, &code(spec.code)?, &name(spec.name)?, now).await?;
        for (col, (c_code, c_name)) in spec.communities.iter().enumerate() {
            let [x0, y0, x1, y1] = community_rect(row, col);
            let community = ensure_community(
                &txn,
                street.id,
                &code(c_code)?,
                &name(c_name)?,
                &rectangle(x0, y0, x1, y1)?,
                now,
            )
            .await?;
            report.communities += 1;
            // Four grids: the community's quadrants, numbered south-west, south-east,
            // north-west, north-east.
            let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            let quadrants = [
                (x0, y0, mx, my),
                (mx, y0, x1, my),
                (x0, my, mx, y1),
                (mx, my, x1, y1),
            ];
            for (i, (a, b, c, d)) in quadrants.into_iter().enumerate() {
                let g_code = code(&format!("{c_code}-{:02}", i + 1))?;
                ensure_grid(
                    &txn,
                    &community,
                    &g_code,
                    &name(GRID_NAMES[i])?,
                    &rectangle(a, b, c, d)?,
                    now,
                )
                .await?;
                report.grids += 1;
            }
        }
    }
    for (i, (c, zh, en, case_type, priority)) in CATEGORIES.iter().enumerate() {
        ensure_category(
            &txn,
            &NewCategory {
                code: code(c)?,
                name: BilingualName::new(name(zh)?, name(en)?),
                case_type: *case_type,
                default_priority: *priority,
                sort_order: i as i32,
                officer_may_take: !COMMAND_CENTRE_FIRST.contains(c),
            },
            now,
        )
        .await?;
        report.categories += 1;
    }
    seed_sla(&txn).await?;
    seed_questions(&txn).await?;
    for (spec, hash) in missing.iter().zip(hashes) {
        let new = NewUser {
            username: Username::parse(spec.username)?,
            display_name: name(spec.display_name)?,
            phone: spec.phone.map(PhoneNumber::parse).transpose()?,
            role: spec.role,
        };
        let officer = spec
            .badge
            .map(|(badge, squad)| -> anyhow::Result<NewOfficer> {
                Ok(NewOfficer {
                    badge_number: BadgeNumber::parse(badge)?,
                    squad: Some(name(squad)?),
                })
            })
            .transpose()?;
        let (user, _) = create_user(&txn, &new, hash, officer.as_ref(), now).await?;
        let mut areas = Vec::new();
        for (level, area_code) in spec.areas {
            let area = find_area_by_code(&txn, *level, &code(area_code)?)
                .await?
                .with_context(|| format!("demo area {area_code}"))?;
            areas.push(area);
        }
        set_jurisdiction(
            &txn,
            user.id,
            &Jurisdiction::for_role(spec.role, areas)?,
            now,
        )
        .await?;
        report.accounts_created += 1;
    }
    seed_community_ops(&txn, now).await?;
    report.places = seed_places(&txn, now).await?;
    report.work_logs_created = seed_work_logs(&txn, now).await?;
    txn.commit().await?;
    report.accounts = ACCOUNTS
        .iter()
        .map(|a| DemoAccount {
            username: a.username,
            role: a.role,
            display_name: a.display_name,
        })
        .collect();
    Ok(report)
}

/// Address-book entries as (street row, community column, fraction east, fraction north inside
/// the community's rectangle, kind, name). Each community is named at a point inside its
/// south-west grid; 文昌社区's south gate is where the article's loudspeaker was.
const PLACES: [(usize, usize, f64, f64, PlaceKind, &str); 11] = [
    (0, 0, 0.4, 0.4, PlaceKind::Community, "文昌社区"),
    (0, 1, 0.4, 0.4, PlaceKind::Community, "鼓楼社区"),
    (1, 0, 0.4, 0.4, PlaceKind::Community, "建设社区"),
    (1, 1, 0.4, 0.4, PlaceKind::Community, "龙河社区"),
    (2, 0, 0.4, 0.4, PlaceKind::Community, "幸福社区"),
    (2, 1, 0.4, 0.4, PlaceKind::Community, "陇海社区"),
    (0, 0, 0.3, 0.08, PlaceKind::Address, "文昌路18号"),
    (0, 0, 0.46, 0.04, PlaceKind::Landmark, "文昌社区南门"),
    (0, 0, 0.46, 0.96, PlaceKind::Landmark, "文昌社区北门"),
    (0, 0, 0.75, 0.7, PlaceKind::Landmark, "文昌社区文化广场"),
    (0, 1, 0.6, 0.3, PlaceKind::Landmark, "鼓楼农贸市场"),
];

/// The demo's address book; re-seeding updates the entries in place (their names are keys).
async fn seed_places(
    txn: &sea_orm::DatabaseTransaction,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    for (row, col, fx, fy, kind, place_name) in PLACES {
        let [x0, y0, x1, y1] = community_rect(row, col);
        let point = Coordinate::wgs84(y0 + (y1 - y0) * fy, x0 + (x1 - x0) * fx)?;
        let community_code = STREETS[row].communities[col].0;
        let community = find_area_by_code(txn, AreaLevel::Community, &code(community_code)?)
            .await?
            .with_context(|| format!("demo community {community_code}"))?;
        let Area::Community(community_id) = community else {
            anyhow::bail!("{community_code} is not a community");
        };
        let grid = geography::list_grids(txn, Some(community_id))
            .await?
            .into_iter()
            .find(|g| g.boundary.touches_point(point))
            .with_context(|| format!("no grid of {community_code} holds {place_name}"))?;
        let context = geography::get_community(txn, community_id).await?;
        places::upsert(
            txn,
            &places::NewPlace {
                name: name(place_name)?,
                kind,
                point,
                grid: whistle_domain::routing::GridHit {
                    grid_id: grid.id,
                    community_id,
                },
                area: AreaPath {
                    district: context.district.id,
                    street: context.street.id,
                    community: community_id,
                },
            },
            now,
        )
        .await?;
    }
    Ok(PLACES.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_is_valid() {
        for spec in &ACCOUNTS {
            assert!(Username::parse(spec.username).is_ok(), "{}", spec.username);
            if let Some(p) = spec.phone {
                assert!(PhoneNumber::parse(p).is_ok());
            }
            assert_eq!(
                spec.badge.is_some(),
                spec.role.is_enforcement(),
                "{}",
                spec.username
            );
        }
        assert!(Password::new(DEMO_PASSWORD, &[]).is_ok());
        for (c, zh, en, ..) in CATEGORIES {
            assert!(Code::parse(c).is_ok() && Name::parse(zh).is_ok() && Name::parse(en).is_ok());
        }
        let [x0, y0, x1, y1] = community_rect(0, 0);
        assert!(rectangle(x0, y0, x1, y1).is_ok());
        for (days_ago, hour, minutes, _, _, people, notes) in WORK_LOGS {
            assert!(days_ago >= 1 && hour < 23 && (1..=24 * 60).contains(&minutes));
            assert!(Notes::parse(notes).is_ok());
            assert!(people.iter().all(|p| Name::parse(p).is_ok()));
        }
    }
}
