//! Webhooks of an account: administrators only (a webhook sends every event
//! of the account out of it). A new webhook starts at the head of the feed;
//! its secret is shown once, when it is made.

use crate::db::webhooks::{self as store, Delivery, Webhook, WebhookChanges};
use crate::db::{events, Read, Write};
use crate::domain::{check_plain_text, Principal, WebhookId};
use crate::error::{Error, ErrorKind};

pub const DESCRIPTION_MAX: usize = 500;
pub const MAX_EVENT_TYPES: usize = 50;
pub const MAX_WEBHOOKS: usize = 100;

/// What a client sends to make or change a webhook (already shaped by the
/// surface; `None`: not sent).
#[derive(Debug, Clone, Default)]
pub struct WebhookDraft {
    pub url: Option<String>,
    /// `Some(None)`: every type.
    pub event_types: Option<Option<Vec<String>>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// A draft's URL, event types (as stored) and description, checked.
type Checked = (Option<String>, Option<Option<String>>, Option<Option<String>>);

/// Checks and normalises a draft's fields.
fn checked(draft: &WebhookDraft, allow_private: bool) -> Result<Checked, Error> {
    let url = draft.url.as_deref().map(|u| crate::webhooks::check_url(u, allow_private)).transpose()?;
    let types = match &draft.event_types {
        None => None,
        Some(None) => Some(None),
        Some(Some(types)) => {
            if types.is_empty() || types.len() > MAX_EVENT_TYPES {
                return Err(Error::validation(format!("event_types lists 1 to {MAX_EVENT_TYPES} types, or is left out for all"))
                    .detail("field", "event_types".into()));
            }
            let mut kinds: Vec<String> = types.iter().map(|t| super::events::check_kind(t, "event_types")).collect::<Result<_, _>>()?;
            kinds.sort();
            kinds.dedup();
            Some(Some(serde_json::to_string(&kinds).map_err(Error::internal)?))
        }
    };
    let description = match &draft.description {
        Some(Some(d)) => {
            check_plain_text("description", d)?;
            if d.chars().count() > DESCRIPTION_MAX {
                return Err(
                    Error::validation(format!("description is at most {DESCRIPTION_MAX} characters")).detail("field", "description".into())
                );
            }
            Some(Some(d.clone()))
        }
        other => other.clone(),
    };
    Ok((url, types, description))
}

pub fn not_found() -> Error {
    Error::new(ErrorKind::WebhookNotFound, "Webhook not found")
}

pub fn create(w: &mut Write, p: &Principal, draft: &WebhookDraft, allow_private: bool) -> Result<Webhook, Error> {
    super::access::require_admin(w, p)?;
    let (url, types, description) = checked(draft, allow_private)?;
    let url = url.ok_or_else(|| Error::validation("url is required").detail("field", "url".into()))?;
    if store::list(w, p.account)?.len() >= MAX_WEBHOOKS {
        return Err(Error::validation(format!("An account has at most {MAX_WEBHOOKS} webhooks")));
    }
    let at = super::now();
    let hook = Webhook {
        id: WebhookId::new(),
        account_id: p.account,
        url,
        description: description.flatten(),
        event_types: types.flatten(),
        secret: crate::webhooks::sign::new_secret(),
        enabled: draft.enabled.unwrap_or(true),
        disabled_reason: None,
        created_by: p.user,
        created_at: at,
        updated_at: at,
        // Only what happens from now on.
        cursor: events::head(w)?,
        failing_since: None,
        failures: 0,
        next_attempt_at: None,
        lease_owner: None,
        lease_until: None,
    };
    store::insert(w, &hook)?;
    Ok(hook)
}

pub fn get(r: &mut Read, p: &Principal, id: WebhookId) -> Result<Webhook, Error> {
    super::access::require_admin(r, p)?;
    store::get(r, p.account, id)?.ok_or_else(not_found)
}

pub fn list(r: &mut Read, p: &Principal) -> Result<Vec<Webhook>, Error> {
    super::access::require_admin(r, p)?;
    Ok(store::list(r, p.account)?)
}

/// Changes what was sent; enabling a disabled webhook clears its failures
/// (it resumes at its cursor, with what retention kept).
pub fn update(w: &mut Write, p: &Principal, id: WebhookId, draft: &WebhookDraft, allow_private: bool) -> Result<Webhook, Error> {
    super::access::require_admin(w, p)?;
    let hook = store::get(w, p.account, id)?.ok_or_else(not_found)?;
    let (url, event_types, description) = checked(draft, allow_private)?;
    let mut fields = Vec::new();
    let mut changes = WebhookChanges { updated_at: Some(super::now()), ..WebhookChanges::default() };
    if let Some(url) = url {
        fields.push("url");
        changes.url = Some(url);
    }
    if let Some(types) = event_types {
        fields.push("event_types");
        changes.event_types = Some(types);
    }
    if let Some(description) = description {
        fields.push("description");
        changes.description = Some(description);
    }
    if let Some(enabled) = draft.enabled {
        fields.push("enabled");
        changes.enabled = Some(enabled);
        if enabled && !hook.enabled {
            changes.disabled_reason = Some(None);
            changes.failing_since = Some(None);
            changes.failures = Some(0);
            changes.next_attempt_at = Some(None);
        }
        if !enabled {
            changes.disabled_reason = Some(Some("disabled by a client".to_owned()));
        }
    }
    if fields.is_empty() {
        return Ok(hook);
    }
    store::update(w, &hook, &changes, fields)?;
    store::get(w, p.account, id)?.ok_or_else(not_found)
}

pub fn delete(w: &mut Write, p: &Principal, id: WebhookId) -> Result<(), Error> {
    super::access::require_admin(w, p)?;
    let hook = store::get(w, p.account, id)?.ok_or_else(not_found)?;
    Ok(store::delete(w, &hook)?)
}

pub fn deliveries(r: &mut Read, p: &Principal, id: WebhookId, limit: i64) -> Result<(Webhook, Vec<Delivery>), Error> {
    let hook = get(r, p, id)?;
    let log = store::deliveries(r, id, limit)?;
    Ok((hook, log))
}
