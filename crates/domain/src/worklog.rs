//! Officers' online work records (线上工作记录) and the 721 method (721工作法).
//!
//! An officer records what they did, when and where: a patrol, a home visit (走访问需), a lecture,
//! door-to-door legal education (上门普法), a mediation, an enforcement action, a joint action
//! with a property company ("城管+物业"). Every entry is classed as service, management or
//! enforcement; the bureau aims for 70 % of the work to be service, 20 % management and 10 %
//! enforcement, and [`Mix`] measures how far an officer or an area is from that.
//!
//! The class defaults from the activity ([`Activity::default_class`]) and may be overridden by the
//! officer (a patrol that turned into helping an elderly resident is service); whether it was
//! overridden is kept, so a leader can see which entries were classed by hand.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::ValueError;
use crate::ids::{CaseId, GridId, MerchantId, UserId, WorkLogId};
use crate::jurisdiction::AreaPath;
use crate::location::Coordinate;
use crate::text::{Name, clean_text};

/// What kind of work an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Activity {
    /// 巡查: walking or driving the community looking for problems.
    Patrol,
    /// 走访问需: visiting residents at home to ask what they need.
    HomeVisit,
    /// 讲座: a talk to residents (garbage sorting, fire safety, the rules).
    Lecture,
    /// 上门普法: explaining the law at residents' or shops' doors.
    LegalEducation,
    /// 调解: settling a dispute between neighbours or with a shop.
    Mediation,
    /// 执法: an enforcement action (orders, fines, removal).
    Enforcement,
    /// "城管+物业" 联合行动: an action together with the property company.
    JointAction,
}

impl Activity {
    pub const ALL: [Activity; 7] = [
        Activity::Patrol,
        Activity::HomeVisit,
        Activity::Lecture,
        Activity::LegalEducation,
        Activity::Mediation,
        Activity::Enforcement,
        Activity::JointAction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Patrol => "patrol",
            Activity::HomeVisit => "home_visit",
            Activity::Lecture => "lecture",
            Activity::LegalEducation => "legal_education",
            Activity::Mediation => "mediation",
            Activity::Enforcement => "enforcement",
            Activity::JointAction => "joint_action",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Activity::Patrol => "巡查",
            Activity::HomeVisit => "走访问需",
            Activity::Lecture => "讲座",
            Activity::LegalEducation => "上门普法",
            Activity::Mediation => "调解",
            Activity::Enforcement => "执法",
            Activity::JointAction => "城管+物业联合行动",
        }
    }

    /// The 721 class an activity counts as unless the officer says otherwise: talking with,
    /// teaching and helping residents is service; watching over the place, alone or with the
    /// property company, is management; enforcement is enforcement.
    pub fn default_class(self) -> Class721 {
        match self {
            Activity::HomeVisit
            | Activity::LegalEducation
            | Activity::Lecture
            | Activity::Mediation => Class721::Service,
            Activity::Patrol | Activity::JointAction => Class721::Management,
            Activity::Enforcement => Class721::Enforcement,
        }
    }
}

impl fmt::Display for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Activity {
    type Err = ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        Activity::ALL
            .into_iter()
            .find(|a| a.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "activity",
                    "must be one of: patrol home_visit lecture legal_education mediation \
                     enforcement joint_action",
                )
            })
    }
}

/// The three classes of the 721 method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class721 {
    /// 服务: 70 % of the work.
    Service,
    /// 管理: 20 %.
    Management,
    /// 执法: 10 %.
    Enforcement,
}

impl Class721 {
    pub const ALL: [Class721; 3] = [
        Class721::Service,
        Class721::Management,
        Class721::Enforcement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class721::Service => "service",
            Class721::Management => "management",
            Class721::Enforcement => "enforcement",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Class721::Service => "服务",
            Class721::Management => "管理",
            Class721::Enforcement => "执法",
        }
    }

    /// The share of the work the method aims for, in per cent (70, 20, 10; they add up to 100).
    pub fn target_percent(self) -> u32 {
        match self {
            Class721::Service => 70,
            Class721::Management => 20,
            Class721::Enforcement => 10,
        }
    }

    /// The target share as a fraction (0.7, 0.2, 0.1).
    pub fn target_share(self) -> f64 {
        f64::from(self.target_percent()) / 100.0
    }

    fn index(self) -> usize {
        match self {
            Class721::Service => 0,
            Class721::Management => 1,
            Class721::Enforcement => 2,
        }
    }
}

impl fmt::Display for Class721 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Class721 {
    type Err = ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        Class721::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new("class", "must be one of: service management enforcement")
            })
    }
}

/// The class an entry counts as, and whether the officer chose it against the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub class: Class721,
    /// True only when the chosen class differs from the activity's default: choosing the default
    /// explicitly is not an override.
    pub overridden: bool,
}

impl Classification {
    pub fn of(activity: Activity, chosen: Option<Class721>) -> Self {
        let default = activity.default_class();
        let class = chosen.unwrap_or(default);
        Self {
            class,
            overridden: class != default,
        }
    }
}

/// Why a time span cannot be a work-log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// It ends at or before it starts.
    #[error("ended_at must be after started_at")]
    EndsBeforeStart,
    /// It is longer than [`WorkLogSpan::MAX_HOURS`].
    #[error(
        "an entry may span at most {} hours; split longer work into several entries",
        WorkLogSpan::MAX_HOURS
    )]
    TooLong,
    /// It ends later than now plus [`WorkLogSpan::CLOCK_SKEW_MINUTES`].
    #[error("an entry cannot end in the future")]
    InFuture,
}

/// When the work was done: `started_at < ended_at`, both kept to the whole second (work is
/// recorded in minutes; whole seconds keep stored times and list cursors exact on every
/// database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkLogSpan {
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
}

impl WorkLogSpan {
    /// One entry is one piece of work, not a shift report: a day at most.
    pub const MAX_HOURS: i64 = 24;
    /// Phones' clocks run a little fast or slow; an entry may end this far after "now".
    pub const CLOCK_SKEW_MINUTES: i64 = 5;

    /// A span being recorded at `now`: ordered, at most a day long, not in the future.
    pub fn new(
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Self, SpanError> {
        let span = Self::ordered(started_at, ended_at)?;
        if span.ended_at - span.started_at > Duration::hours(Self::MAX_HOURS) {
            return Err(SpanError::TooLong);
        }
        if span.ended_at > now + Duration::minutes(Self::CLOCK_SKEW_MINUTES) {
            return Err(SpanError::InFuture);
        }
        Ok(span)
    }

    /// A span as stored: only the order is checked again (limits may have changed since).
    pub fn stored(started_at: DateTime<Utc>, ended_at: DateTime<Utc>) -> Result<Self, ValueError> {
        Self::ordered(started_at, ended_at).map_err(|e| ValueError::new("ended_at", e.to_string()))
    }

    fn ordered(started_at: DateTime<Utc>, ended_at: DateTime<Utc>) -> Result<Self, SpanError> {
        let (started_at, ended_at) = (started_at.trunc_subsecs(0), ended_at.trunc_subsecs(0));
        if ended_at <= started_at {
            return Err(SpanError::EndsBeforeStart);
        }
        Ok(Self {
            started_at,
            ended_at,
        })
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn ended_at(&self) -> DateTime<Utc> {
        self.ended_at
    }

    /// Whole minutes of work, a started minute counting in full (so every entry counts at least
    /// one minute): what the mix adds up.
    pub fn minutes(&self) -> u32 {
        let secs = (self.ended_at - self.started_at).num_seconds().max(1);
        // At most MAX_HOURS * 60 for new spans; stored ones are bounded by i64 seconds anyway.
        u32::try_from((secs + 59) / 60).unwrap_or(u32::MAX)
    }
}

/// What the officer wrote about the work: 1–5000 characters, newlines allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notes(String);

impl Notes {
    pub const MAX_CHARS: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        clean_text("notes", raw, Self::MAX_CHARS, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Someone who took part besides the officer: a colleague with an account, or a person named by
/// the officer (the property company's 王经理, a resident volunteer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Participant {
    Staff(UserId),
    Named(Name),
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkLog {
    pub id: WorkLogId,
    /// The account (officer or leader) who did the work and recorded it.
    pub officer: UserId,
    pub activity: Activity,
    pub classification: Classification,
    pub span: WorkLogSpan,
    /// The community the work was done in, at every level.
    pub area: AreaPath,
    pub grid: Option<GridId>,
    /// WGS-84; when given it lies inside `area.community`.
    pub point: Option<Coordinate>,
    pub participants: Vec<Participant>,
    pub notes: Option<Notes>,
    pub cases: Vec<CaseId>,
    /// Merchants the work concerned. Not checked against a merchant table (see the migration).
    pub merchants: Vec<MerchantId>,
    pub created_at: DateTime<Utc>,
}

/// What one class adds up to over a set of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassTotal {
    pub count: u64,
    pub minutes: u64,
}

/// The 721 mix of a set of entries: per class how many and how many minutes, and from that the
/// shares and how far they are from the 70/20/10 target.
///
/// Shares are fractions of the total (0.0–1.0). The mix is measured by **minutes** (time spent is
/// what the method is about; a two-hour lecture weighs more than a five-minute patrol round), the
/// count shares are given alongside. With no entries every share is `None`: there is no mix to
/// measure, which is different from a mix of zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mix {
    totals: [ClassTotal; 3],
}

impl Mix {
    /// Sums `(class, count, minutes)` rows; a class may appear in several rows or in none.
    pub fn from_rows(rows: impl IntoIterator<Item = (Class721, u64, u64)>) -> Self {
        let mut mix = Self::default();
        for (class, count, minutes) in rows {
            let t = &mut mix.totals[class.index()];
            t.count += count;
            t.minutes += minutes;
        }
        mix
    }

    /// The mix of a list of entries, counted the same way as the database does it.
    pub fn of_spans(entries: impl IntoIterator<Item = (Class721, WorkLogSpan)>) -> Self {
        Self::from_rows(
            entries
                .into_iter()
                .map(|(c, s)| (c, 1, u64::from(s.minutes()))),
        )
    }

    pub fn total(&self, class: Class721) -> ClassTotal {
        self.totals[class.index()]
    }

    pub fn total_count(&self) -> u64 {
        self.totals.iter().map(|t| t.count).sum()
    }

    pub fn total_minutes(&self) -> u64 {
        self.totals.iter().map(|t| t.minutes).sum()
    }

    pub fn share_by_minutes(&self, class: Class721) -> Option<f64> {
        ratio(self.total(class).minutes, self.total_minutes())
    }

    pub fn share_by_count(&self, class: Class721) -> Option<f64> {
        ratio(self.total(class).count, self.total_count())
    }

    /// Share by minutes minus the target share: positive means more of this class than the
    /// method asks for.
    pub fn deviation(&self, class: Class721) -> Option<f64> {
        self.share_by_minutes(class)
            .map(|s| s - class.target_share())
    }

    /// One number for the whole mix: half the sum of the absolute deviations (the total
    /// variation distance), 0.0 for a mix exactly on target and at most 1.0.
    pub fn distance_from_target(&self) -> Option<f64> {
        let mut sum = 0.0;
        for class in Class721::ALL {
            sum += self.deviation(class)?.abs();
        }
        Some(sum / 2.0)
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, m, s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_default_classes_table() {
        let table = [
            ("home_visit", "service"),
            ("legal_education", "service"),
            ("lecture", "service"),
            ("mediation", "service"),
            ("patrol", "management"),
            ("joint_action", "management"),
            ("enforcement", "enforcement"),
        ];
        assert_eq!(table.len(), Activity::ALL.len(), "every activity is listed");
        for (activity, class) in table {
            let a: Activity = activity.parse().unwrap();
            assert_eq!(a.as_str(), activity);
            assert_eq!(a.default_class().as_str(), class, "{activity}");
        }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for a in Activity::ALL {
            assert_eq!(a.as_str().parse::<Activity>().unwrap(), a);
            assert!(!a.name_zh().is_empty());
        }
        for c in Class721::ALL {
            assert_eq!(c.as_str().parse::<Class721>().unwrap(), c);
        }
        assert_eq!(" patrol ".parse::<Activity>().unwrap(), Activity::Patrol);
        let e = "sightseeing".parse::<Activity>().unwrap_err();
        assert_eq!(e.field, "activity");
        assert!(e.reason.contains("home_visit"));
        assert_eq!("Service".parse::<Class721>().unwrap_err().field, "class");
        assert_eq!(
            Class721::ALL
                .iter()
                .map(|c| c.target_percent())
                .sum::<u32>(),
            100
        );
    }

    #[test]
    fn an_override_is_recorded_only_when_it_changes_the_class() {
        let c = Classification::of(Activity::Patrol, None);
        assert_eq!((c.class, c.overridden), (Class721::Management, false));
        let c = Classification::of(Activity::Patrol, Some(Class721::Service));
        assert_eq!((c.class, c.overridden), (Class721::Service, true));
        let c = Classification::of(Activity::Enforcement, Some(Class721::Enforcement));
        assert_eq!((c.class, c.overridden), (Class721::Enforcement, false));
    }

    #[test]
    fn spans_must_be_ordered_bounded_and_not_in_the_future() {
        let s = WorkLogSpan::new(t(9, 0, 0), t(10, 30, 0), now()).unwrap();
        assert_eq!(s.minutes(), 90);
        assert_eq!(
            WorkLogSpan::new(t(10, 0, 0), t(9, 0, 0), now()),
            Err(SpanError::EndsBeforeStart)
        );
        assert_eq!(
            WorkLogSpan::new(t(10, 0, 0), t(10, 0, 0), now()),
            Err(SpanError::EndsBeforeStart)
        );
        // Exactly a day is allowed, a second more is not.
        let start = t(8, 0, 0);
        assert!(WorkLogSpan::new(start, start + Duration::hours(24), now()).is_ok());
        assert_eq!(
            WorkLogSpan::new(
                start,
                start + Duration::hours(24) + Duration::seconds(1),
                now()
            ),
            Err(SpanError::TooLong)
        );
        // A few minutes of clock skew are tolerated, more is the future.
        let n = now();
        assert!(WorkLogSpan::new(n - Duration::hours(1), n + Duration::minutes(5), n).is_ok());
        assert_eq!(
            WorkLogSpan::new(n - Duration::hours(1), n + Duration::minutes(6), n),
            Err(SpanError::InFuture)
        );
    }

    #[test]
    fn spans_keep_whole_seconds_and_count_started_minutes() {
        let start = t(9, 0, 0) + Duration::milliseconds(700);
        let s = WorkLogSpan::new(start, t(9, 0, 1) + Duration::milliseconds(2), now()).unwrap();
        assert_eq!(s.started_at(), t(9, 0, 0));
        assert_eq!(s.ended_at(), t(9, 0, 1));
        assert_eq!(s.minutes(), 1, "a started minute counts");
        let s = WorkLogSpan::new(t(9, 0, 0), t(9, 1, 1), now()).unwrap();
        assert_eq!(s.minutes(), 2);
        // Sub-second spans collapse to nothing and are refused.
        assert_eq!(
            WorkLogSpan::new(start, start + Duration::milliseconds(100), now()),
            Err(SpanError::EndsBeforeStart)
        );
        assert!(WorkLogSpan::stored(t(9, 0, 0), t(8, 0, 0)).is_err());
    }

    #[test]
    fn notes_are_bounded() {
        assert!(Notes::parse("走访独居老人，了解需求").is_ok());
        assert!(Notes::parse(" ").is_err());
        assert!(Notes::parse(&"记".repeat(5000)).is_ok());
        assert_eq!(Notes::parse(&"记".repeat(5001)).unwrap_err().field, "notes");
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn a_mix_exactly_on_target() {
        let mix = Mix::from_rows([
            (Class721::Service, 7, 700),
            (Class721::Management, 2, 200),
            (Class721::Enforcement, 1, 100),
        ]);
        assert_eq!(mix.total_count(), 10);
        assert_eq!(mix.total_minutes(), 1000);
        for c in Class721::ALL {
            assert!(close(mix.share_by_minutes(c), c.target_share()));
            assert!(close(mix.share_by_count(c), c.target_share()));
            assert!(close(mix.deviation(c), 0.0));
        }
        assert!(close(mix.distance_from_target(), 0.0));
    }

    #[test]
    fn a_mix_by_minutes_differs_from_a_mix_by_count() {
        // Three long home visits and one short enforcement; a class may come in several rows.
        let mix = Mix::from_rows([
            (Class721::Service, 2, 200),
            (Class721::Service, 1, 100),
            (Class721::Enforcement, 1, 100),
        ]);
        assert_eq!(
            mix.total(Class721::Service),
            ClassTotal {
                count: 3,
                minutes: 300
            }
        );
        assert_eq!(mix.total(Class721::Management), ClassTotal::default());
        assert!(close(mix.share_by_minutes(Class721::Service), 0.75));
        assert!(close(mix.share_by_count(Class721::Service), 0.75));
        assert!(close(mix.share_by_minutes(Class721::Management), 0.0));
        assert!(close(mix.deviation(Class721::Service), 0.05));
        assert!(close(mix.deviation(Class721::Management), -0.2));
        assert!(close(mix.deviation(Class721::Enforcement), 0.15));
        assert!(close(mix.distance_from_target(), 0.2));

        let all_enforcement = Mix::from_rows([(Class721::Enforcement, 1, 30)]);
        assert!(close(all_enforcement.distance_from_target(), 0.9));
    }

    #[test]
    fn an_empty_mix_has_no_shares() {
        let mix = Mix::from_rows([]);
        assert_eq!(mix.total_count(), 0);
        assert_eq!(mix.share_by_minutes(Class721::Service), None);
        assert_eq!(mix.deviation(Class721::Service), None);
        assert_eq!(mix.distance_from_target(), None);
    }

    #[test]
    fn a_mix_of_spans_counts_minutes_like_the_spans_do() {
        let n = now();
        let span = |from: DateTime<Utc>, mins: i64| {
            WorkLogSpan::new(from, from + Duration::minutes(mins), n).unwrap()
        };
        let mix = Mix::of_spans([
            (Class721::Service, span(t(9, 0, 0), 120)),
            (Class721::Management, span(t(13, 0, 0), 60)),
            (Class721::Service, span(t(15, 0, 0), 60)),
        ]);
        assert_eq!(mix.total(Class721::Service).minutes, 180);
        assert_eq!(mix.total(Class721::Service).count, 2);
        assert!(close(mix.share_by_minutes(Class721::Management), 0.25));
        assert!(close(mix.share_by_count(Class721::Management), 1.0 / 3.0));
    }
}
