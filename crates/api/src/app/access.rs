//! The one way the application asks the authorization policy (`whistle_auth::policy`), and
//! the refusal it answers: 403 naming the rule that refused in both languages, or "not found"
//! for reads that must not reveal that the thing exists. Every refusal is audited.

use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, DenyReason, Resource, authorize};

use crate::app::AppError;

/// Asks the policy; a denial becomes 403, or 404 for reads that must not reveal existence.
pub fn require(principal: &Principal, action: Action, resource: &Resource) -> Result<(), AppError> {
    ask(principal, action, resource, "refused").map_err(|reason| {
        if action.is_read() && reason != DenyReason::NotPermitted {
            AppError::not_found("not_found", "not found")
        } else {
            refusal(principal, action, reason)
        }
    })
}

/// Like [`require`], for a scope the caller names explicitly (a list or summary of an officer's
/// or a community's work): a denial is always 403 naming why, even for reads, because the
/// officer or community asked about is not a secret, only their records are.
pub fn require_scope(
    principal: &Principal,
    action: Action,
    resource: &Resource,
) -> Result<(), AppError> {
    ask(principal, action, resource, "scope refused")
        .map_err(|reason| refusal(principal, action, reason))
}

/// The policy's answer; every refusal is audited (target `whistle::audit`): who, what, why,
/// never the object's personal data.
fn ask(
    principal: &Principal,
    action: Action,
    resource: &Resource,
    what: &'static str,
) -> Result<(), DenyReason> {
    match authorize(principal, action, resource) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => {
            tracing::warn!(
                target: "whistle::audit",
                user_id = principal.user_id.get(),
                role = principal.role.as_str(),
                ?action,
                ?reason,
                "{what}"
            );
            Err(reason)
        }
    }
}

/// The 403 for a denial: a code per rule that refused (`role_not_permitted`,
/// `outside_jurisdiction`, `not_owner`) and a detail naming the role and the action, in both
/// languages.
pub fn refusal(principal: &Principal, action: Action, reason: DenyReason) -> AppError {
    let role = principal.role;
    let (r, a) = (role.as_str(), action.as_str());
    let (rz, az) = (role.name_zh(), action.name_zh());
    let (code, en, zh) = match reason {
        DenyReason::NotPermitted => (
            "role_not_permitted",
            format!("the {r} role may not {a}"),
            format!("{rz}（{r}）角色无权{az}（{a}）"),
        ),
        DenyReason::OutsideJurisdiction => (
            "outside_jurisdiction",
            format!("a {r} may {a} only inside their own jurisdiction, and this lies outside it"),
            format!("{rz}（{r}）只能在本人辖区内{az}（{a}），该对象不在您的辖区内"),
        ),
        DenyReason::NotOwner => (
            "not_owner",
            format!("a {r} may {a} only on their own records"),
            format!("{rz}（{r}）只能对本人的记录{az}（{a}）"),
        ),
    };
    AppError::Forbidden {
        code,
        detail: en,
        zh: Some(zh),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whistle_domain::ids::{CommunityId, DistrictId, StreetId, UserId};
    use whistle_domain::jurisdiction::{Area, AreaPath, Jurisdiction};
    use whistle_domain::people::Role;

    fn officer() -> Principal {
        Principal {
            user_id: UserId::new(1).unwrap(),
            role: Role::Officer,
            jurisdiction: Jurisdiction::for_role(
                Role::Officer,
                [Area::Community(CommunityId::new(1).unwrap())],
            )
            .unwrap(),
        }
    }

    fn elsewhere() -> Resource {
        Resource::at(AreaPath {
            district: DistrictId::new(2).unwrap(),
            street: StreetId::new(2).unwrap(),
            community: CommunityId::new(2).unwrap(),
        })
    }

    #[test]
    fn denials_map_to_403_or_hiding_404() {
        let p = officer();
        // A read outside the jurisdiction does not reveal that the thing exists.
        let read = require(&p, Action::ViewCase, &elsewhere()).unwrap_err();
        assert!(matches!(read, AppError::NotFound { .. }), "{read:?}");
        // An action outside the jurisdiction is a 403 naming why.
        let act = require(&p, Action::HandleCase, &elsewhere()).unwrap_err();
        assert!(
            matches!(
                act,
                AppError::Forbidden {
                    code: "outside_jurisdiction",
                    ..
                }
            ),
            "{act:?}"
        );
        // An action the role never has is a plain 403, also for reads.
        let never = require(&p, Action::ManageUsers, &Resource::city()).unwrap_err();
        assert!(
            matches!(
                never,
                AppError::Forbidden {
                    code: "role_not_permitted",
                    ..
                }
            ),
            "{never:?}"
        );
        assert_eq!(never.to_string(), "the officer role may not manage_users");
        let resident = Principal {
            role: Role::Resident,
            jurisdiction: Jurisdiction::none(),
            ..p
        };
        let other = Resource::city().owned_by(UserId::new(99).unwrap());
        assert!(matches!(
            require(&resident, Action::ViewCase, &other),
            Err(AppError::NotFound { .. })
        ));
        assert!(
            require(
                &resident,
                Action::ViewCase,
                &Resource::city().owned_by(resident.user_id)
            )
            .is_ok()
        );
    }
}
