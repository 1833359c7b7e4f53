//! The one authorization policy: `(principal, action, resource) → allow | deny(reason)`.
//!
//! Every endpoint that acts on something asks [`authorize`]; handlers never compare roles
//! themselves. A decision depends on three things only: the principal's role, whether the
//! resource lies inside the principal's jurisdiction, and whether the principal owns it (reported
//! it, or it is their own record). Dispatchers act city-wide; admins administer and do not handle
//! cases (least privilege: the system administrator does not read residents' reports).

use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::people::Role;

use crate::principal::Principal;

/// Everything a principal may ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    // ---- cases
    /// Submit a new case (resident report, officer patrol, hotline entry, partner report).
    ReportCase,
    /// Read a case and its timeline, with personal data masked.
    ViewCase,
    /// See the reporter's name and phone number on a case.
    ViewReporterContact,
    /// Add a comment to a case.
    CommentCase,
    /// Accept (立案) or reject (不予立案) a reported case.
    AcceptCase,
    /// 小事一格解决: accept a report of one's own community and take it oneself (the officer
    /// stationed there; the category must allow it).
    TakeCase,
    /// Dispatch (派遣) a case to an officer or squad, or take a returned case back.
    DispatchCase,
    /// Escalate (上报) a case to a leader, the street or another department.
    EscalateCase,
    /// Sign for (签收), handle and resolve a case, or return (退单) it.
    HandleCase,
    /// Ask for more time (延期申请).
    RequestExtension,
    /// Approve or deny an extension.
    DecideExtension,
    /// Verify (核查) a resolution, send it back for rework, close (结案).
    VerifyCase,
    /// Merge duplicates.
    MergeCases,
    /// Rate the result (满意度) of one's own case.
    RateCase,
    /// Reopen one's own case within the window.
    ReopenCase,
    // ---- community operations
    /// Station officers in communities (派驻).
    ManageStationing,
    /// Register and edit merchants.
    ManageMerchants,
    /// Sign or revoke a four-responsibility pledge (门前四包).
    SignPledge,
    /// Inspect a merchant against its pledge.
    InspectMerchant,
    /// Record one's own work (线上工作记录).
    LogWork,
    /// Read work logs.
    ViewWorkLogs,
    // ---- analytics
    /// Dashboards: on-time rates, hot spots, workload.
    ViewStatistics,
    /// CSV exports.
    ExportData,
    // ---- administration
    /// Create, disable, re-role accounts; set jurisdictions.
    ManageUsers,
    /// Edit districts, streets, communities, grids.
    ManageGeography,
    /// Edit categories, SLA policies, the working calendar.
    ManageCatalogue,
    /// Read the audit log.
    ViewAuditLog,
}

impl Action {
    pub const ALL: [Action; 27] = [
        Action::ReportCase,
        Action::ViewCase,
        Action::ViewReporterContact,
        Action::CommentCase,
        Action::AcceptCase,
        Action::TakeCase,
        Action::DispatchCase,
        Action::EscalateCase,
        Action::HandleCase,
        Action::RequestExtension,
        Action::DecideExtension,
        Action::VerifyCase,
        Action::MergeCases,
        Action::RateCase,
        Action::ReopenCase,
        Action::ManageStationing,
        Action::ManageMerchants,
        Action::SignPledge,
        Action::InspectMerchant,
        Action::LogWork,
        Action::ViewWorkLogs,
        Action::ViewStatistics,
        Action::ExportData,
        Action::ManageUsers,
        Action::ManageGeography,
        Action::ManageCatalogue,
        Action::ViewAuditLog,
    ];

    /// The action's machine name (`handle_case`), as error details name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ReportCase => "report_case",
            Action::ViewCase => "view_case",
            Action::ViewReporterContact => "view_reporter_contact",
            Action::CommentCase => "comment_case",
            Action::AcceptCase => "accept_case",
            Action::TakeCase => "take_case",
            Action::DispatchCase => "dispatch_case",
            Action::EscalateCase => "escalate_case",
            Action::HandleCase => "handle_case",
            Action::RequestExtension => "request_extension",
            Action::DecideExtension => "decide_extension",
            Action::VerifyCase => "verify_case",
            Action::MergeCases => "merge_cases",
            Action::RateCase => "rate_case",
            Action::ReopenCase => "reopen_case",
            Action::ManageStationing => "manage_stationing",
            Action::ManageMerchants => "manage_merchants",
            Action::SignPledge => "sign_pledge",
            Action::InspectMerchant => "inspect_merchant",
            Action::LogWork => "log_work",
            Action::ViewWorkLogs => "view_work_logs",
            Action::ViewStatistics => "view_statistics",
            Action::ExportData => "export_data",
            Action::ManageUsers => "manage_users",
            Action::ManageGeography => "manage_geography",
            Action::ManageCatalogue => "manage_catalogue",
            Action::ViewAuditLog => "view_audit_log",
        }
    }

    /// The action in Chinese, as error details name it.
    pub fn name_zh(self) -> &'static str {
        match self {
            Action::ReportCase => "上报案件",
            Action::ViewCase => "查看案件",
            Action::ViewReporterContact => "查看上报人联系方式",
            Action::CommentCase => "评论案件",
            Action::AcceptCase => "受理（立案或不予立案）案件",
            Action::TakeCase => "自行接单处置本社区的小事",
            Action::DispatchCase => "派遣案件",
            Action::EscalateCase => "上报升级案件",
            Action::HandleCase => "签收、处置或退回案件",
            Action::RequestExtension => "申请延期",
            Action::DecideExtension => "审批延期",
            Action::VerifyCase => "核查、返工或结案",
            Action::MergeCases => "合并案件",
            Action::RateCase => "评价案件",
            Action::ReopenCase => "重新打开案件",
            Action::ManageStationing => "管理派驻",
            Action::ManageMerchants => "管理商户",
            Action::SignPledge => "签订或撤销门前四包承诺书",
            Action::InspectMerchant => "检查商户",
            Action::LogWork => "记录工作",
            Action::ViewWorkLogs => "查看工作记录",
            Action::ViewStatistics => "查看统计",
            Action::ExportData => "导出数据",
            Action::ManageUsers => "管理账号",
            Action::ManageGeography => "管理区划和网格",
            Action::ManageCatalogue => "管理问题类别、时限和工作日历",
            Action::ViewAuditLog => "查看审计日志",
        }
    }

    /// Reading actions: a denial of these should not reveal that the thing exists, so the API
    /// answers 404 rather than 403.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Action::ViewCase | Action::ViewReporterContact | Action::ViewWorkLogs
        )
    }
}

/// What an action is about: where it is, and whose it is. `area: None` means a city-wide thing
/// (the user list, the catalogue, city statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resource {
    pub area: Option<AreaPath>,
    pub owner: Option<UserId>,
}

impl Resource {
    /// Something with no place and no owner.
    pub fn city() -> Self {
        Self::default()
    }

    pub fn at(area: AreaPath) -> Self {
        Self {
            area: Some(area),
            owner: None,
        }
    }

    pub fn owned_by(mut self, owner: UserId) -> Self {
        self.owner = Some(owner);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// The role can never do this.
    NotPermitted,
    /// The role can, but not here.
    OutsideJurisdiction,
    /// Only the owner can.
    NotOwner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(DenyReason),
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// How a role may perform an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Never,
    /// Anywhere in the city.
    Anywhere,
    /// Only inside the jurisdiction.
    Inside,
    /// Inside the jurisdiction, or on what the principal owns.
    InsideOrOwn,
    /// Only on what the principal owns.
    Own,
}

fn rule(role: Role, action: Action) -> Rule {
    use Action::*;
    use Rule::*;
    match role {
        Role::Resident => match action {
            ReportCase => Anywhere,
            ViewCase | ViewReporterContact | CommentCase | RateCase | ReopenCase => Own,
            _ => Never,
        },
        Role::Partner => match action {
            ReportCase => Inside,
            ViewCase | CommentCase => InsideOrOwn,
            // Property companies see cases in their compound but not residents' phone numbers.
            ViewReporterContact | RateCase | ReopenCase => Own,
            _ => Never,
        },
        Role::Officer => match action {
            ViewCase | ViewReporterContact | CommentCase => InsideOrOwn,
            ReportCase | TakeCase | HandleCase | RequestExtension | ManageMerchants
            | SignPledge | InspectMerchant | LogWork => Inside,
            ViewWorkLogs => Own,
            _ => Never,
        },
        Role::Leader => match action {
            ViewCase | ViewReporterContact | CommentCase | ViewWorkLogs => InsideOrOwn,
            ReportCase | AcceptCase | DispatchCase | EscalateCase | HandleCase
            | RequestExtension | DecideExtension | VerifyCase | MergeCases | ManageStationing
            | ManageMerchants | SignPledge | InspectMerchant | LogWork | ViewStatistics
            | ExportData => Inside,
            TakeCase | RateCase | ReopenCase | ManageUsers | ManageGeography | ManageCatalogue
            | ViewAuditLog => Never,
        },
        Role::Dispatcher => match action {
            ReportCase | ViewCase | ViewReporterContact | CommentCase | AcceptCase
            | DispatchCase | EscalateCase | MergeCases | ViewStatistics | ExportData => Anywhere,
            _ => Never,
        },
        // Admins see the city's aggregate figures (no personal data) but export no case lists.
        Role::Admin => match action {
            ManageUsers | ManageGeography | ManageCatalogue | ViewAuditLog | ViewStatistics => {
                Anywhere
            }
            _ => Never,
        },
    }
}

/// May `role` do `action` anywhere at all (in its jurisdiction, or to what it owns)? For
/// listings that serve an action, such as the officers a stationing or a dispatch can name.
pub fn may_somewhere(role: Role, action: Action) -> bool {
    rule(role, action) != Rule::Never
}

/// May `principal` do `action` to `resource`?
pub fn authorize(principal: &Principal, action: Action, resource: &Resource) -> Decision {
    let own = resource.owner == Some(principal.user_id);
    let inside = resource
        .area
        .is_some_and(|area| principal.jurisdiction.covers(&area));
    match rule(principal.role, action) {
        Rule::Never => Decision::Deny(DenyReason::NotPermitted),
        Rule::Anywhere => Decision::Allow,
        Rule::Inside if inside => Decision::Allow,
        Rule::Inside => Decision::Deny(DenyReason::OutsideJurisdiction),
        Rule::InsideOrOwn if inside || own => Decision::Allow,
        Rule::InsideOrOwn => Decision::Deny(DenyReason::OutsideJurisdiction),
        Rule::Own if own => Decision::Allow,
        Rule::Own => Decision::Deny(DenyReason::NotOwner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whistle_domain::ids::{CommunityId, DistrictId, StreetId};
    use whistle_domain::jurisdiction::{Area, Jurisdiction};

    const ME: i64 = 7;
    const SOMEONE: i64 = 8;

    /// Inside: community 1 of street 1 of district 1. Outside: community 2 of street 2 of
    /// district 2.
    fn path(n: i64) -> AreaPath {
        AreaPath {
            district: DistrictId::new(n).unwrap(),
            street: StreetId::new(n).unwrap(),
            community: CommunityId::new(n).unwrap(),
        }
    }

    fn principal(role: Role, areas: Vec<Area>) -> Principal {
        Principal {
            user_id: UserId::new(ME).unwrap(),
            role,
            jurisdiction: Jurisdiction::for_role(role, areas).unwrap(),
        }
    }

    /// The principals under test: each role with a jurisdiction that covers "inside". Leaders
    /// appear twice, once holding the street and once the district.
    fn principals() -> Vec<(&'static str, Principal)> {
        let community = || vec![Area::Community(CommunityId::new(1).unwrap())];
        vec![
            ("resident", principal(Role::Resident, vec![])),
            ("partner", principal(Role::Partner, community())),
            ("officer", principal(Role::Officer, community())),
            (
                "leader",
                principal(Role::Leader, vec![Area::Street(StreetId::new(1).unwrap())]),
            ),
            (
                "leader",
                principal(
                    Role::Leader,
                    vec![Area::District(DistrictId::new(1).unwrap())],
                ),
            ),
            ("dispatcher", principal(Role::Dispatcher, vec![])),
            ("admin", principal(Role::Admin, vec![])),
        ]
    }

    /// The expected decision for each role and action, written out by hand, in five situations:
    /// inside & own, inside & someone else's, outside & own, outside & someone else's, and a
    /// city-wide resource (no area, no owner).
    /// A = allow, R = denied for the role, J = outside the jurisdiction, O = not the owner.
    const TABLE: &str = "
        resident   ReportCase          A A A A A
        resident   ViewCase            A O A O O
        resident   ViewReporterContact A O A O O
        resident   CommentCase         A O A O O
        resident   AcceptCase          R R R R R
        resident   TakeCase            R R R R R
        resident   DispatchCase        R R R R R
        resident   EscalateCase        R R R R R
        resident   HandleCase          R R R R R
        resident   RequestExtension    R R R R R
        resident   DecideExtension     R R R R R
        resident   VerifyCase          R R R R R
        resident   MergeCases          R R R R R
        resident   RateCase            A O A O O
        resident   ReopenCase          A O A O O
        resident   ManageStationing    R R R R R
        resident   ManageMerchants     R R R R R
        resident   SignPledge          R R R R R
        resident   InspectMerchant     R R R R R
        resident   LogWork             R R R R R
        resident   ViewWorkLogs        R R R R R
        resident   ViewStatistics      R R R R R
        resident   ExportData          R R R R R
        resident   ManageUsers         R R R R R
        resident   ManageGeography     R R R R R
        resident   ManageCatalogue     R R R R R
        resident   ViewAuditLog        R R R R R

        partner    ReportCase          A A J J J
        partner    ViewCase            A A A J J
        partner    ViewReporterContact A O A O O
        partner    CommentCase         A A A J J
        partner    AcceptCase          R R R R R
        partner    TakeCase            R R R R R
        partner    DispatchCase        R R R R R
        partner    EscalateCase        R R R R R
        partner    HandleCase          R R R R R
        partner    RequestExtension    R R R R R
        partner    DecideExtension     R R R R R
        partner    VerifyCase          R R R R R
        partner    MergeCases          R R R R R
        partner    RateCase            A O A O O
        partner    ReopenCase          A O A O O
        partner    ManageStationing    R R R R R
        partner    ManageMerchants     R R R R R
        partner    SignPledge          R R R R R
        partner    InspectMerchant     R R R R R
        partner    LogWork             R R R R R
        partner    ViewWorkLogs        R R R R R
        partner    ViewStatistics      R R R R R
        partner    ExportData          R R R R R
        partner    ManageUsers         R R R R R
        partner    ManageGeography     R R R R R
        partner    ManageCatalogue     R R R R R
        partner    ViewAuditLog        R R R R R

        officer    ReportCase          A A J J J
        officer    ViewCase            A A A J J
        officer    ViewReporterContact A A A J J
        officer    CommentCase         A A A J J
        officer    AcceptCase          R R R R R
        officer    TakeCase            A A J J J
        officer    DispatchCase        R R R R R
        officer    EscalateCase        R R R R R
        officer    HandleCase          A A J J J
        officer    RequestExtension    A A J J J
        officer    DecideExtension     R R R R R
        officer    VerifyCase          R R R R R
        officer    MergeCases          R R R R R
        officer    RateCase            R R R R R
        officer    ReopenCase          R R R R R
        officer    ManageStationing    R R R R R
        officer    ManageMerchants     A A J J J
        officer    SignPledge          A A J J J
        officer    InspectMerchant     A A J J J
        officer    LogWork             A A J J J
        officer    ViewWorkLogs        A O A O O
        officer    ViewStatistics      R R R R R
        officer    ExportData          R R R R R
        officer    ManageUsers         R R R R R
        officer    ManageGeography     R R R R R
        officer    ManageCatalogue     R R R R R
        officer    ViewAuditLog        R R R R R

        leader     ReportCase          A A J J J
        leader     ViewCase            A A A J J
        leader     ViewReporterContact A A A J J
        leader     CommentCase         A A A J J
        leader     AcceptCase          A A J J J
        leader     TakeCase            R R R R R
        leader     DispatchCase        A A J J J
        leader     EscalateCase        A A J J J
        leader     HandleCase          A A J J J
        leader     RequestExtension    A A J J J
        leader     DecideExtension     A A J J J
        leader     VerifyCase          A A J J J
        leader     MergeCases          A A J J J
        leader     RateCase            R R R R R
        leader     ReopenCase          R R R R R
        leader     ManageStationing    A A J J J
        leader     ManageMerchants     A A J J J
        leader     SignPledge          A A J J J
        leader     InspectMerchant     A A J J J
        leader     LogWork             A A J J J
        leader     ViewWorkLogs        A A A J J
        leader     ViewStatistics      A A J J J
        leader     ExportData          A A J J J
        leader     ManageUsers         R R R R R
        leader     ManageGeography     R R R R R
        leader     ManageCatalogue     R R R R R
        leader     ViewAuditLog        R R R R R

        dispatcher ReportCase          A A A A A
        dispatcher ViewCase            A A A A A
        dispatcher ViewReporterContact A A A A A
        dispatcher CommentCase         A A A A A
        dispatcher AcceptCase          A A A A A
        dispatcher TakeCase            R R R R R
        dispatcher DispatchCase        A A A A A
        dispatcher EscalateCase        A A A A A
        dispatcher HandleCase          R R R R R
        dispatcher RequestExtension    R R R R R
        dispatcher DecideExtension     R R R R R
        dispatcher VerifyCase          R R R R R
        dispatcher MergeCases          A A A A A
        dispatcher RateCase            R R R R R
        dispatcher ReopenCase          R R R R R
        dispatcher ManageStationing    R R R R R
        dispatcher ManageMerchants     R R R R R
        dispatcher SignPledge          R R R R R
        dispatcher InspectMerchant     R R R R R
        dispatcher LogWork             R R R R R
        dispatcher ViewWorkLogs        R R R R R
        dispatcher ViewStatistics      A A A A A
        dispatcher ExportData          A A A A A
        dispatcher ManageUsers         R R R R R
        dispatcher ManageGeography     R R R R R
        dispatcher ManageCatalogue     R R R R R
        dispatcher ViewAuditLog        R R R R R

        admin      ReportCase          R R R R R
        admin      ViewCase            R R R R R
        admin      ViewReporterContact R R R R R
        admin      CommentCase         R R R R R
        admin      AcceptCase          R R R R R
        admin      TakeCase            R R R R R
        admin      DispatchCase        R R R R R
        admin      EscalateCase        R R R R R
        admin      HandleCase          R R R R R
        admin      RequestExtension    R R R R R
        admin      DecideExtension     R R R R R
        admin      VerifyCase          R R R R R
        admin      MergeCases          R R R R R
        admin      RateCase            R R R R R
        admin      ReopenCase          R R R R R
        admin      ManageStationing    R R R R R
        admin      ManageMerchants     R R R R R
        admin      SignPledge          R R R R R
        admin      InspectMerchant     R R R R R
        admin      LogWork             R R R R R
        admin      ViewWorkLogs        R R R R R
        admin      ViewStatistics      A A A A A
        admin      ExportData          R R R R R
        admin      ManageUsers         A A A A A
        admin      ManageGeography     A A A A A
        admin      ManageCatalogue     A A A A A
        admin      ViewAuditLog        A A A A A
    ";

    fn letter(d: Decision) -> char {
        match d {
            Decision::Allow => 'A',
            Decision::Deny(DenyReason::NotPermitted) => 'R',
            Decision::Deny(DenyReason::OutsideJurisdiction) => 'J',
            Decision::Deny(DenyReason::NotOwner) => 'O',
        }
    }

    #[test]
    fn the_policy_table() {
        let me = UserId::new(ME).unwrap();
        let other = UserId::new(SOMEONE).unwrap();
        let situations = [
            Resource::at(path(1)).owned_by(me),
            Resource::at(path(1)).owned_by(other),
            Resource::at(path(2)).owned_by(me),
            Resource::at(path(2)).owned_by(other),
            Resource::city(),
        ];
        let mut checked = std::collections::HashSet::new();
        for line in TABLE.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cols.len(), 7, "{line}");
            let action = Action::ALL
                .into_iter()
                .find(|a| format!("{a:?}") == cols[1])
                .unwrap_or_else(|| panic!("unknown action in {line}"));
            for (name, p) in principals().iter().filter(|(n, _)| *n == cols[0]) {
                let got: String = situations
                    .iter()
                    .map(|r| letter(authorize(p, action, r)))
                    .collect();
                let want: String = cols[2..].concat();
                assert_eq!(
                    got, want,
                    "{name} {action:?} (jurisdiction {:?})",
                    p.jurisdiction
                );
                checked.insert((p.role, action));
            }
        }
        // Every role × every action is in the table.
        assert_eq!(checked.len(), Role::ALL.len() * Action::ALL.len());
    }

    #[test]
    fn an_officer_without_stationing_acts_nowhere() {
        let p = principal(Role::Officer, vec![]);
        assert_eq!(
            authorize(&p, Action::HandleCase, &Resource::at(path(1))),
            Decision::Deny(DenyReason::OutsideJurisdiction)
        );
    }

    #[test]
    fn reads_are_marked_for_404() {
        assert!(Action::ViewCase.is_read());
        assert!(!Action::HandleCase.is_read());
    }
}
