//! Who hears about a case: contacts of dispatchers, leaders, partners, stationed officers.

use super::*;

/// How to reach an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub user_id: UserId,
    pub role: Role,
    /// The account's display name (notices name the officer to the reporter).
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub locale: Locale,
}

fn contact(m: users::Model) -> Result<Contact, RepoError> {
    let bad = |e| corrupt("users", m.id)(e);
    Ok(Contact {
        user_id: UserId::new(m.id).map_err(bad)?,
        role: m.role.parse().map_err(bad)?,
        name: m.display_name,
        phone: m.phone,
        email: m.email,
        locale: Locale::parse(&m.locale).unwrap_or_default(),
    })
}

async fn active_users(
    db: &impl ConnectionTrait,
    filter: Condition,
) -> Result<Vec<Contact>, RepoError> {
    users::Entity::find()
        .filter(users::Column::Disabled.eq(false))
        .filter(filter)
        .order_by_asc(users::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(contact)
        .collect()
}

/// The active accounts among `ids`.
pub async fn contacts(
    db: &impl ConnectionTrait,
    ids: &[UserId],
) -> Result<Vec<Contact>, RepoError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<i64> = ids.iter().map(|u| u.get()).collect();
    active_users(db, Condition::all().add(users::Column::Id.is_in(raw))).await
}

/// The command centre: every active dispatcher.
pub async fn dispatchers(db: &impl ConnectionTrait) -> Result<Vec<Contact>, RepoError> {
    active_users(
        db,
        Condition::all().add(users::Column::Role.eq(Role::Dispatcher.as_str())),
    )
    .await
}

/// Active leaders whose jurisdiction covers `area` (its community, street or district).
pub async fn leaders_over(
    db: &impl ConnectionTrait,
    area: &AreaPath,
) -> Result<Vec<Contact>, RepoError> {
    let covering = Condition::any()
        .add(
            Condition::all()
                .add(user_area::Column::Level.eq("community"))
                .add(user_area::Column::AreaId.eq(area.community.get())),
        )
        .add(
            Condition::all()
                .add(user_area::Column::Level.eq("street"))
                .add(user_area::Column::AreaId.eq(area.street.get())),
        )
        .add(
            Condition::all()
                .add(user_area::Column::Level.eq("district"))
                .add(user_area::Column::AreaId.eq(area.district.get())),
        );
    let ids: Vec<i64> = user_area::Entity::find()
        .select_only()
        .column(user_area::Column::UserId)
        .filter(covering)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    active_users(
        db,
        Condition::all()
            .add(users::Column::Id.is_in(ids))
            .add(users::Column::Role.eq(Role::Leader.as_str())),
    )
    .await
}

/// Partner accounts (property company, owners' committee) of a community's organisations.
pub async fn partners_of(
    db: &impl ConnectionTrait,
    community: CommunityId,
) -> Result<Vec<Contact>, RepoError> {
    let orgs: Vec<i64> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .filter(organisation::Column::CommunityId.eq(community.get()))
        .into_tuple()
        .all(db)
        .await?;
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = organisation_member::Entity::find()
        .select_only()
        .column(organisation_member::Column::UserId)
        .filter(organisation_member::Column::OrganisationId.is_in(orgs))
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    active_users(
        db,
        Condition::all()
            .add(users::Column::Id.is_in(ids))
            .add(users::Column::Role.eq(Role::Partner.as_str())),
    )
    .await
}

/// The officers stationed in a community on `day`.
pub async fn stationed_officers(
    db: &impl ConnectionTrait,
    community: CommunityId,
    day: NaiveDate,
) -> Result<Vec<Contact>, RepoError> {
    let d = day.format("%Y-%m-%d").to_string();
    let ids: Vec<i64> = stationing::Entity::find()
        .select_only()
        .column(stationing::Column::OfficerId)
        .filter(stationing::Column::CommunityId.eq(community.get()))
        .filter(stationing::Column::StartsOn.lte(d.as_str()))
        .filter(
            Condition::any()
                .add(stationing::Column::EndsOn.is_null())
                .add(stationing::Column::EndsOn.gte(d.as_str())),
        )
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<UserId> = ids
        .into_iter()
        .map(|i| UserId::new(i).map_err(corrupt("stationing", i)))
        .collect::<Result<_, _>>()?;
    contacts(db, &ids).await
}

/// Sets how an account is reached: e-mail (or none) and language.
pub async fn set_contact(
    db: &impl ConnectionTrait,
    user: UserId,
    email: Option<&str>,
    locale: Locale,
) -> Result<(), RepoError> {
    users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(email.map(str::to_owned)))
        .col_expr(users::Column::Locale, Expr::value(locale.as_str()))
        .filter(users::Column::Id.eq(user.get()))
        .exec(db)
        .await?;
    Ok(())
}

/// An account's e-mail and language.
pub async fn contact_of(db: &impl ConnectionTrait, user: UserId) -> Result<Contact, RepoError> {
    users::Entity::find_by_id(user.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("user"))
        .and_then(contact)
}
