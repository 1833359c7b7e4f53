//! The figures leaders see (数据分析和问题溯源), as pure rules: what a period is, how figures are
//! grouped, how rates and the 90th percentile are computed, how nearby cases cluster into a
//! repeat location, how a category recurs week over week, and how a CSV cell is written so that
//! spreadsheet tools neither garble Chinese nor run formulas.
//!
//! What each figure counts is defined once, in `docs/ARCHITECTURE.md` ("Analytics"); the SQL
//! that counts lives in `whistle_persistence::repo::analytics`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::ValueError;

// ---- periods --------------------------------------------------------------------------------

/// A half-open period `[from, to)` over which figures are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// Why a period was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("from must be before to")]
    Inverted,
    #[error("a period spans at most {0} days")]
    TooLong(i64),
}

impl Period {
    /// The period a dashboard asks for: `to` defaults to `now`, `from` to `default_days` before
    /// `to`; `from` must be before `to`, and the span at most `max_days`.
    pub fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        default_days: i64,
        max_days: i64,
    ) -> Result<Period, PeriodError> {
        let to = to.unwrap_or(now);
        let from = from.unwrap_or(to - Duration::days(default_days));
        if from >= to {
            return Err(PeriodError::Inverted);
        }
        if to - from > Duration::days(max_days) {
            return Err(PeriodError::TooLong(max_days));
        }
        Ok(Period { from, to })
    }

    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }
}

// ---- grouping -------------------------------------------------------------------------------

/// What figures are grouped by. Times are grouped in the city's local time; a week starts on
/// Monday and is named by that Monday's date (`2026-11-23`), a month is `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    District,
    Street,
    Community,
    Grid,
    Category,
    /// The officer the case is assigned to now (unassigned cases form their own group).
    Officer,
    Day,
    Week,
    Month,
}

impl GroupBy {
    pub const ALL: [GroupBy; 9] = [
        GroupBy::District,
        GroupBy::Street,
        GroupBy::Community,
        GroupBy::Grid,
        GroupBy::Category,
        GroupBy::Officer,
        GroupBy::Day,
        GroupBy::Week,
        GroupBy::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::District => "district",
            GroupBy::Street => "street",
            GroupBy::Community => "community",
            GroupBy::Grid => "grid",
            GroupBy::Category => "category",
            GroupBy::Officer => "officer",
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Month => "month",
        }
    }

    /// True for the calendar groupings, whose key is a date text rather than an id.
    pub fn is_time(self) -> bool {
        matches!(self, GroupBy::Day | GroupBy::Week | GroupBy::Month)
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GroupBy {
    type Err = ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        GroupBy::ALL
            .into_iter()
            .find(|g| g.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "group_by",
                    "must be one of district, street, community, grid, category, officer, day, \
                     week, month",
                )
            })
    }
}

/// The Monday that starts the week of `day` (the key of `GroupBy::Week`).
pub fn week_start(day: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

// ---- rates and percentiles ------------------------------------------------------------------

/// `part / whole`, rounded to 4 decimals; `None` when there is nothing to divide by (a rate of
/// nothing is unknown, not 0 % or 100 %).
pub fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round4(part as f64 / whole as f64))
}

/// Rounds to 4 decimals (rates, shares).
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The `p`-th quantile (0 ≤ p ≤ 1) by linear interpolation between the closest ranks — the
/// definition of PostgreSQL's `percentile_cont`, so both databases report the same figure.
/// `None` for no values.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = p.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// The arithmetic mean; `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

// ---- hot-spot cells -------------------------------------------------------------------------

/// Metres per degree of latitude (and of longitude at the equator), on the WGS-84 mean radius.
pub const METRES_PER_DEGREE: f64 = 111_320.0;

/// A lattice of square cells about `size_m` metres on a side, fixed for a city by its reference
/// latitude (the middle of its grids), so a cell means the same place in every request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellLattice {
    size_m: f64,
    dlat: f64,
    dlon: f64,
}

impl CellLattice {
    /// Cells of 50 m to 5 km.
    pub fn new(size_m: f64, reference_lat: f64) -> Result<CellLattice, ValueError> {
        if !(50.0..=5000.0).contains(&size_m) {
            return Err(ValueError::new("cell_m", "must be 50 to 5000 metres"));
        }
        let cos = reference_lat.to_radians().cos().max(0.01);
        Ok(CellLattice {
            size_m,
            dlat: size_m / METRES_PER_DEGREE,
            dlon: size_m / (METRES_PER_DEGREE * cos),
        })
    }

    pub fn size_m(&self) -> f64 {
        self.size_m
    }

    /// Degrees of latitude per cell.
    pub fn dlat(&self) -> f64 {
        self.dlat
    }

    /// Degrees of longitude per cell.
    pub fn dlon(&self) -> f64 {
        self.dlon
    }

    /// The cell `(row, column)` holding a point.
    pub fn cell_of(&self, lat: f64, lon: f64) -> (i64, i64) {
        (
            (lat / self.dlat).floor() as i64,
            (lon / self.dlon).floor() as i64,
        )
    }

    /// The cell's corners as a closed GeoJSON ring, `[lon, lat]` pairs, counter-clockwise.
    pub fn ring(&self, row: i64, col: i64) -> Vec<[f64; 2]> {
        let (s, w) = (row as f64 * self.dlat, col as f64 * self.dlon);
        let (n, e) = (s + self.dlat, w + self.dlon);
        vec![[w, s], [e, s], [e, n], [w, n], [w, s]]
    }

    /// Area of one cell in km² (the lattice's cells are equal to within a fraction of a percent
    /// across a city).
    pub fn cell_km2(&self) -> f64 {
        self.size_m * self.size_m / 1e6
    }
}

// ---- repeat locations -----------------------------------------------------------------------

/// Distance in metres between two WGS-84 points (haversine; metres-accurate at city scale).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.8;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dla = la2 - la1;
    let dlo = (b.1 - a.1).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

/// Groups points (lat, lon) into repeat locations: two points belong together when a chain of
/// points, each within `radius_m` of the next, joins them (single linkage). Returns the groups
/// as indexes into `points`, each ascending, groups ordered by their first index. Points are
/// bucketed in cells of `radius_m`, so only neighbouring cells are compared.
pub fn cluster(points: &[(f64, f64)], radius_m: f64) -> Vec<Vec<usize>> {
    let n = points.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    if n > 0 && radius_m > 0.0 {
        let ref_lat = points.iter().map(|p| p.0).sum::<f64>() / n as f64;
        let dlat = radius_m / METRES_PER_DEGREE;
        let dlon = radius_m / (METRES_PER_DEGREE * ref_lat.to_radians().cos().max(0.01));
        let mut buckets: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        for (i, p) in points.iter().enumerate() {
            let key = ((p.0 / dlat).floor() as i64, (p.1 / dlon).floor() as i64);
            buckets.entry(key).or_default().push(i);
        }
        for (i, p) in points.iter().enumerate() {
            let (r, c) = ((p.0 / dlat).floor() as i64, (p.1 / dlon).floor() as i64);
            // Cells are a little wider than the radius everywhere in the city, except far from
            // the reference latitude; two rings of neighbours keep that safe.
            for dr in -2..=2 {
                for dc in -2..=2 {
                    let Some(others) = buckets.get(&(r + dr, c + dc)) else {
                        continue;
                    };
                    for &j in others {
                        if j > i && distance_m(*p, points[j]) <= radius_m {
                            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                            if a != b {
                                parent[a.max(b)] = a.min(b);
                            }
                        }
                    }
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut slot: HashMap<usize, usize> = HashMap::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        let g = *slot.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

// ---- recurring categories -------------------------------------------------------------------

/// The longest run of consecutive weeks (by their Monday) in `weeks`: `(first Monday, length)`.
/// Duplicates are ignored; the earliest of equally long runs wins. `None` for no weeks.
pub fn longest_weekly_run(weeks: &[NaiveDate]) -> Option<(NaiveDate, u32)> {
    let mut w: Vec<NaiveDate> = weeks.iter().map(|d| week_start(*d)).collect();
    w.sort();
    w.dedup();
    let mut best: Option<(NaiveDate, u32)> = None;
    let mut run: Option<(NaiveDate, u32)> = None;
    for (i, d) in w.iter().enumerate() {
        run = match run {
            Some((start, len)) if i > 0 && *d - w[i - 1] == Duration::days(7) => {
                Some((start, len + 1))
            }
            _ => Some((*d, 1)),
        };
        if let Some(r) = run
            && best.is_none_or(|b| r.1 > b.1)
        {
            best = Some(r);
        }
    }
    best
}

// ---- CSV --------------------------------------------------------------------------------------

/// The UTF-8 byte-order mark that makes spreadsheet tools read a CSV file as UTF-8 (otherwise
/// Excel on a Chinese Windows reads GBK and garbles every Chinese character).
pub const CSV_BOM: &str = "\u{feff}";

/// Neutralises a cell that a spreadsheet would run as a formula (CSV injection): a cell
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which
/// spreadsheets show as text. Numbers this code writes itself are not passed through here.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// One text cell as RFC 4180 CSV: neutralised, then quoted when it holds a comma, quote or line
/// break (quotes doubled).
pub fn csv_text(cell: &str) -> String {
    let cell = neutralise(cell);
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.into_owned()
    }
}

/// A CSV cell: text (neutralised and quoted), or a number written by us.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Num(Option<f64>),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<Option<f64>> for Cell {
    fn from(n: Option<f64>) -> Self {
        Cell::Num(n)
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map_or(Cell::Empty, Cell::Text)
    }
}

/// One CSV record, CRLF-terminated as RFC 4180 says.
pub fn csv_row(cells: &[Cell]) -> String {
    let mut out = String::new();
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match c {
            Cell::Text(t) => out.push_str(&csv_text(t)),
            Cell::Int(n) => out.push_str(&n.to_string()),
            Cell::Num(Some(x)) if x.is_finite() => out.push_str(&x.to_string()),
            Cell::Num(_) | Cell::Empty => {}
        }
    }
    out.push_str("\r\n");
    out
}

// ---- Chinese CSV ----------------------------------------------------------------------------

/// The Chinese heading of a CSV column, by the column's English key; `None` for a key this table
/// does not know (a test checks that every export's columns are here).
pub fn header_zh(key: &str) -> Option<&'static str> {
    Some(match key {
        "group_by" => "分组方式",
        "key" => "分组编号",
        "label" => "名称",
        "reported" => "上报数",
        "accepted" => "立案数",
        "rejected" => "不予立案数",
        "closed" => "结案数",
        "open" => "未结案数",
        "overdue" => "超期数",
        "closed_on_time" => "按期结案数",
        "on_time_close_rate" => "按期结案率",
        "resolved" => "处置数",
        "resolved_on_time" => "按期处置数",
        "on_time_handling_rate" => "按期处置率",
        "reworked" => "返工数",
        "rework_rate" => "返工率",
        "extension_requested" => "申请延期数",
        "extension_rate" => "延期率",
        "escalations" => "升级次数",
        "escalated_cases" => "升级案件数",
        "rated" => "评价数",
        "mean_rating" => "平均评分",
        "satisfied" => "满意数",
        "satisfaction_rate" => "满意率",
        "accept_cases" => "立案阶段案件数",
        "accept_mean_secs" => "立案平均用时（秒）",
        "accept_p90_secs" => "立案90%用时（秒）",
        "dispatch_cases" => "派遣阶段案件数",
        "dispatch_mean_secs" => "派遣平均用时（秒）",
        "dispatch_p90_secs" => "派遣90%用时（秒）",
        "sign_cases" => "签收阶段案件数",
        "sign_mean_secs" => "签收平均用时（秒）",
        "sign_p90_secs" => "签收90%用时（秒）",
        "resolve_cases" => "处置阶段案件数",
        "resolve_mean_secs" => "处置平均用时（秒）",
        "resolve_p90_secs" => "处置90%用时（秒）",
        "verify_cases" => "核查阶段案件数",
        "verify_mean_secs" => "核查平均用时（秒）",
        "verify_p90_secs" => "核查90%用时（秒）",
        "rank" => "排名",
        "cases" => "案件数",
        "density_per_km2" => "密度（件/平方公里）",
        "row" => "行",
        "col" => "列",
        "grid_id" => "网格编号",
        "name" => "名称",
        "community" => "社区",
        "near" => "附近地点",
        "min_lat" => "最小纬度",
        "min_lon" => "最小经度",
        "max_lat" => "最大纬度",
        "max_lon" => "最大经度",
        "category" => "问题类别",
        "lat" => "纬度",
        "lon" => "经度",
        "spread_m" => "分布半径（米）",
        "first_reported" => "首次上报时间",
        "last_reported" => "最近上报时间",
        "numbers" => "案件编号",
        "merchant_id" => "商户编号",
        "categories" => "问题类别数",
        "grid" => "网格",
        "run_weeks" => "连续周数",
        "run_start" => "连续起始周",
        "week" => "周",
        "officer_id" => "队员编号",
        "assigned" => "分派案件数",
        "work_logs" => "工作记录数",
        "work_minutes" => "工作时长（分钟）",
        "service_minutes" => "服务时长（分钟）",
        "service_share" => "服务占比",
        "management_minutes" => "管理时长（分钟）",
        "management_share" => "管理占比",
        "enforcement_minutes" => "执法时长（分钟）",
        "enforcement_share" => "执法占比",
        "distance_from_721" => "与721目标的偏离",
        "number" => "案件编号",
        "reported_at" => "上报时间",
        "case_type" => "案件类型",
        "priority" => "紧急程度",
        "source" => "来源",
        "status" => "状态",
        "stage" => "当前环节",
        "stage_due" => "环节时限",
        "street" => "街道",
        "address" => "地址",
        "description" => "问题描述",
        "assignee" => "承办队员",
        "rating" => "评价",
        "closed_at" => "结案时间",
        _ => return None,
    })
}

/// A grouping's Chinese name, for the `group_by` column of a Chinese summary.
pub fn group_by_zh(g: GroupBy) -> &'static str {
    match g {
        GroupBy::District => "区",
        GroupBy::Street => "街道",
        GroupBy::Community => "社区",
        GroupBy::Grid => "网格",
        GroupBy::Category => "问题类别",
        GroupBy::Officer => "队员",
        GroupBy::Day => "日",
        GroupBy::Week => "周",
        GroupBy::Month => "月",
    }
}

/// The Chinese name of a deadline stage (`accept` → 立案), as the case list export prints it.
pub fn stage_zh(stage: &str) -> Option<&'static str> {
    Some(match stage {
        "accept" => "立案",
        "dispatch" => "派遣",
        "sign" => "签收",
        "resolve" => "处置",
        "verify" => "核查",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn periods_default_cap_and_refuse_inversion() {
        let now = at("2026-11-26T00:00:00Z");
        let p = Period::new(None, None, now, 30, 366).unwrap();
        assert_eq!((p.from(), p.to()), (at("2026-10-27T00:00:00Z"), now));
        let p = Period::new(None, Some(at("2026-01-31T00:00:00Z")), now, 30, 366).unwrap();
        assert_eq!(p.from(), at("2026-01-01T00:00:00Z"));
        assert_eq!(
            Period::new(Some(now), Some(now), now, 30, 366),
            Err(PeriodError::Inverted)
        );
        assert_eq!(
            Period::new(Some(at("2027-01-01T00:00:00Z")), None, now, 30, 366),
            Err(PeriodError::Inverted)
        );
        let year_ago = at("2025-11-25T00:00:00Z");
        assert!(Period::new(Some(year_ago), Some(now), now, 30, 366).is_ok());
        assert_eq!(
            Period::new(Some(at("2025-11-24T23:59:59Z")), Some(now), now, 30, 366),
            Err(PeriodError::TooLong(366))
        );
    }

    #[test]
    fn group_keys_parse_and_round_trip() {
        for g in GroupBy::ALL {
            assert_eq!(g.as_str().parse::<GroupBy>().unwrap(), g);
        }
        let e = "street_name".parse::<GroupBy>().unwrap_err();
        assert_eq!(e.field, "group_by");
        assert!("".parse::<GroupBy>().is_err());
        assert!(GroupBy::Week.is_time() && !GroupBy::Grid.is_time());
    }

    #[test]
    fn weeks_start_on_monday() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(week_start(d("2026-11-26")), d("2026-11-23")); // Thursday
        assert_eq!(week_start(d("2026-11-23")), d("2026-11-23")); // Monday
        assert_eq!(week_start(d("2026-11-29")), d("2026-11-23")); // Sunday
        assert_eq!(week_start(d("2027-01-01")), d("2026-12-28"));
    }

    #[test]
    fn rates_of_nothing_are_unknown() {
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(2, 2), Some(1.0));
    }

    #[test]
    fn percentiles_interpolate_like_postgresql() {
        assert_eq!(percentile(&[], 0.9), None);
        assert_eq!(percentile(&[5.0], 0.9), Some(5.0));
        // percentile_cont(0.9) of 1..10 is 9.1.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile(&v, 0.9).unwrap() - 9.1).abs() < 1e-9);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(neutralise("文昌社区"), "文昌社区");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(
            csv_row(&[
                "文昌社区".into(),
                Cell::Int(-3),
                Cell::Num(Some(0.5)),
                Cell::Num(None)
            ]),
            "文昌社区,-3,0.5,\r\n"
        );
    }

    #[test]
    fn lattice_cells_hold_their_points() {
        let l = CellLattice::new(250.0, 34.6).unwrap();
        let (r, c) = l.cell_of(34.5858, 119.143);
        let ring = l.ring(r, c);
        assert!(ring[0][1] <= 34.5858 && 34.5858 < ring[2][1]);
        assert!(ring[0][0] <= 119.143 && 119.143 < ring[1][0]);
        // About 250 m on each side.
        let side_ns = distance_m((ring[0][1], ring[0][0]), (ring[3][1], ring[3][0]));
        let side_ew = distance_m((ring[0][1], ring[0][0]), (ring[1][1], ring[1][0]));
        assert!((side_ns - 250.0).abs() < 2.0, "{side_ns}");
        assert!((side_ew - 250.0).abs() < 2.0, "{side_ew}");
        assert!(CellLattice::new(10.0, 34.6).is_err());
        assert!(CellLattice::new(10_000.0, 34.6).is_err());
    }

    #[test]
    fn nearby_points_cluster_by_chains() {
        // Three points 40 m apart in a row, one 500 m away.
        let m = 1.0 / METRES_PER_DEGREE;
        let pts = [
            (34.6, 119.14),
            (34.6 + 40.0 * m, 119.14),
            (34.6 + 80.0 * m, 119.14),
            (34.6 + 500.0 * m, 119.14),
        ];
        assert_eq!(cluster(&pts, 50.0), vec![vec![0, 1, 2], vec![3]]);
        assert_eq!(
            cluster(&pts, 30.0),
            vec![vec![0], vec![1], vec![2], vec![3]]
        );
        assert!(cluster(&[], 50.0).is_empty());
    }

    #[test]
    fn weekly_runs() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(longest_weekly_run(&[]), None);
        let weeks = [
            d("2026-11-02"),
            d("2026-11-11"), // same week as 11-09
            d("2026-11-09"),
            d("2026-11-16"),
            d("2026-11-30"),
        ];
        assert_eq!(longest_weekly_run(&weeks), Some((d("2026-11-02"), 3)));
        assert_eq!(
            longest_weekly_run(&[d("2026-11-30"), d("2026-11-16")]),
            Some((d("2026-11-16"), 1))
        );
    }

    proptest! {
        #[test]
        fn neutralised_cells_never_start_a_formula(s in ".*") {
            // What the spreadsheet reads: the cell with its quoting removed.
            let out = csv_text(&s);
            let cell = match out.strip_prefix('"').and_then(|o| o.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => out.clone(),
            };
            let first = cell.chars().next();
            prop_assert!(!matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')));
        }

        #[test]
        fn csv_cells_round_trip(s in "[^\u{0}]*") {
            // Unquoting a written cell gives back the (neutralised) text.
            let out = csv_text(&s);
            let back = if let Some(inner) = out.strip_prefix('"').and_then(|o| o.strip_suffix('"')) {
                inner.replace("\"\"", "\"")
            } else {
                out.clone()
            };
            prop_assert_eq!(back, neutralise(&s).into_owned());
        }

        #[test]
        fn percentile_lies_between_min_and_max(v in proptest::collection::vec(0.0f64..1e6, 1..50), p in 0.0f64..=1.0) {
            let q = percentile(&v, p).unwrap();
            let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(q >= min - 1e-9 && q <= max + 1e-9);
        }

        #[test]
        fn clusters_partition_the_points(
            pts in proptest::collection::vec((34.58f64..34.60, 119.14f64..119.16), 0..60),
            r in 10.0f64..300.0,
        ) {
            let groups = cluster(&pts, r);
            let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
            seen.sort();
            prop_assert_eq!(seen, (0..pts.len()).collect::<Vec<_>>());
            // Points within the radius are always together.
            let group_of = |i: usize| groups.iter().position(|g| g.contains(&i)).unwrap();
            for i in 0..pts.len() {
                for j in 0..pts.len() {
                    if distance_m(pts[i], pts[j]) <= r {
                        prop_assert_eq!(group_of(i), group_of(j));
                    }
                }
            }
        }
    }

    #[test]
    fn every_stage_and_figure_column_has_a_chinese_heading() {
        for stage in crate::calendar::Stage::ALL {
            assert!(stage_zh(stage.as_str()).is_some(), "{}", stage.as_str());
            for suffix in ["cases", "mean_secs", "p90_secs"] {
                let key = format!("{}_{suffix}", stage.as_str());
                assert!(header_zh(&key).is_some(), "{key}");
            }
        }
        assert_eq!(header_zh("overdue"), Some("超期数"));
        assert_eq!(header_zh("no such column"), None);
        assert_eq!(group_by_zh(GroupBy::Officer), "队员");
    }
}
