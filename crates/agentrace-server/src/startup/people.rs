//! The first owner: with `admin_email` and `admin_password`, a store without any user gets
//! one at start, an owner, so that a fresh deployment needs no manual step (and the creation is
//! in the audit log, by the server). A store with people — made so now, or before — makes the
//! server need a login for everything, tokens aside (`crate::http::auth`).

use agentrace_store::{Actor, NewUser, OrgRole, User};

use super::error::StartError;
use crate::config::ServerConfig;
use crate::http::audit::{Audit, entry};
use crate::http::auth::login::normalized_email;
use crate::http::auth::passwords;
use crate::store::SharedOrganization;

/// The single sign-on of the configuration's `sso` file, if any.
pub(super) fn single_sign_on(
    config: &ServerConfig,
) -> Result<Option<crate::http::auth::sso::SharedSso>, StartError> {
    let Some(path) = &config.sso else {
        return Ok(None);
    };
    let sso = crate::config::sso::SsoConfig::load(path).map_err(StartError::People)?;
    let sso = crate::http::auth::sso::Sso::new(sso, &agentrace_core::env::process)
        .map_err(StartError::People)?;
    Ok(Some(std::sync::Arc::new(sso)))
}

/// Creates the configured first owner if the store has no user; whether the server has people.
pub(super) async fn bootstrap(
    organization: &SharedOrganization,
    config: &ServerConfig,
    audit: &Audit,
) -> Result<bool, StartError> {
    let organization = organization.clone();
    let owner = config
        .admin_email
        .as_deref()
        .zip(config.admin_password.clone());
    let owner = owner.map(|(email, password)| (normalized_email(email), password));
    let sso = config.sso.is_some();
    let created = tokio::task::spawn_blocking(move || -> Result<_, StartError> {
        let fail = |e: &dyn std::fmt::Display| StartError::People(e.to_string());
        if !organization.users().map_err(|e| fail(&e))?.is_empty() {
            return Ok((true, None::<User>));
        }
        if sso {
            // People come in through single sign-on (and may be invited).
            if owner.is_none() {
                return Ok((true, None));
            }
        }
        let Some((email, password)) = owner else {
            return Ok((false, None));
        };
        let mut new = NewUser::new(
            email.clone(),
            email,
            OrgRole::Owner,
            agentrace_core::now_unix_nano(),
        );
        new.password_hash = Some(passwords::hash(&password).map_err(|e| fail(&e))?);
        let user = organization.create_user(&new).map_err(|e| fail(&e))?;
        Ok((true, Some(user)))
    })
    .await
    .map_err(|e| StartError::People(e.to_string()))??;
    let (people, user) = created;
    if let Some(user) = user {
        tracing::info!(email = %user.email, "created the first owner (admin_email)");
        let e = entry(
            Actor::new("server", None, "admin_email"),
            ("user.create", &user.email),
            None,
            201,
        )
        .changing(
            None,
            Some(serde_json::json!({ "role": "owner", "id": user.id.0 }).to_string()),
        );
        audit.append(e).await;
    }
    Ok(people)
}
