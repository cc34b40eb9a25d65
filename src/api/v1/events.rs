//! `/v1/events` (the change feed) and `/v1/webhooks`.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::parse_id;
use crate::api::error::ErrorResponse;
use crate::api::{timestamp, Caller};
use crate::db::events::FeedFilter;
use crate::db::webhooks::{Delivery, Webhook};
use crate::domain::{GroupId, UserId, WebhookId};
use crate::engine::events::{check_kind, DEFAULT_LIMIT, MAX_LIMIT};
use crate::engine::webhooks::WebhookDraft;
use crate::error::Error;
use crate::feed::{parse_cursor, EventView};
use crate::service::Service;

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EventActor)]
#[allow(dead_code, reason = "documents the shape crate::feed::EventView serializes")]
pub struct EventActorDoc {
    /// The user the change was made as
    #[schema(format = "uuid")]
    pub user_id: Option<String>,
    /// The API key they signed in with, if any
    #[schema(format = "uuid")]
    pub api_key_id: Option<String>,
}

/// One change, as recorded in the transaction that made it. Subject ids
/// that do not apply to the type are left out.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
#[allow(dead_code, reason = "documents the shape crate::feed::EventView serializes")]
pub struct EventDoc {
    /// The event id (also the `webhook-id` of its deliveries)
    #[schema(format = "uuid")]
    pub id: String,
    /// `membership.added`, `membership.removed`, `group.nested`, `group.unnested`,
    /// `user.created`, `user.updated`, `user.deleted`, `group.created`,
    /// `group.updated`, `group.deleted`, `api_key.created`, `api_key.revoked`,
    /// `user.locked`, `user.unlocked`, `user.suspended`, `user.unsuspended`,
    /// `user.password_changed`, `webhook.created`, `webhook.updated`,
    /// `webhook.deleted`, `webhook.disabled`, `account.created`
    #[serde(rename = "type")]
    #[schema(example = "membership.added")]
    pub kind: String,
    #[schema(format = "date-time")]
    pub occurred_at: String,
    #[schema(format = "uuid")]
    pub account_id: String,
    /// `null` for the system's own changes (a lockout after failed sign-ins,
    /// a webhook disabled after failing, the command line)
    pub actor: Option<EventActorDoc>,
    /// The `X-Request-Id` of the request that made the change
    pub request_id: Option<String>,
    /// The group (the parent, for nesting)
    #[schema(format = "uuid")]
    pub group_id: Option<String>,
    #[schema(format = "uuid")]
    pub user_id: Option<String>,
    /// The nested group (`group.nested`, `group.unnested`)
    #[schema(format = "uuid")]
    pub child_group_id: Option<String>,
    #[schema(format = "uuid")]
    pub api_key_id: Option<String>,
    #[schema(format = "uuid")]
    pub webhook_id: Option<String>,
    /// The fields an update set (`*.updated`), never their values
    pub fields: Option<Vec<String>>,
    /// This event's place in the feed: pass it as `after` to resume behind it
    #[schema(pattern = "^[0-9]{1,19}$")]
    pub cursor: String,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EventPage)]
#[allow(dead_code, reason = "documents the shape crate::feed::EventView serializes")]
pub struct EventPageDoc {
    pub items: Vec<EventDoc>,
    /// Where the next page starts: always present, also when `items` is
    /// empty (poll again with it to receive what is committed next)
    #[schema(pattern = "^[0-9]{1,19}$")]
    pub next_cursor: String,
}

#[derive(Debug, Serialize)]
struct EventPage {
    items: Vec<EventView>,
    next_cursor: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events after this cursor (a `next_cursor` or an event's
    /// `cursor`); from the oldest retained event when absent
    #[param(pattern = "^[0-9]{1,19}$")]
    pub after: Option<String>,
    /// Page size, 1 to 1000
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Only events of this type (e.g. `membership.added`)
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Only events about this group (as the group or the nested group)
    #[param(format = "uuid")]
    pub group_id: Option<String>,
    /// Only events about this user
    #[param(format = "uuid")]
    pub user_id: Option<String>,
}

/// Follow the change feed
///
/// Every committed change of the account, each exactly once, in commit
/// order: a consumer that keeps passing `next_cursor` back as `after` misses
/// nothing and sees nothing twice, on every backend and with several
/// instances (README, "Change feed and webhooks"). An empty page is not
/// the end: poll again with its `next_cursor`. With filters a page may hold
/// fewer than `limit` events before the feed's end (at most 10,000
/// positions are scanned per call); follow `next_cursor` all the same.
///
/// Events are kept for the retention period (30 days by default); a cursor
/// from before what was pruned answers 410 `CURSOR_EXPIRED`.
///
/// **Permissions:** `audit_read`.
#[utoipa::path(
    tag = "Events",
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPageDoc),
        (status = 400, description = "Invalid cursor, limit, type or id (`VALIDATION_ERROR`)", body = ErrorResponse),
        (status = 410, description = "Events after `after` were removed by retention (`CURSOR_EXPIRED`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/events")]
pub async fn list_events(service: web::Data<Service>, caller: Caller, query: web::Query<EventsQuery>) -> Result<HttpResponse, Error> {
    let q = query.into_inner();
    let after = q
        .after
        .as_deref()
        .map(|a| parse_cursor(a).ok_or_else(|| Error::validation("after must be a cursor from this feed").detail("field", "after".into())))
        .transpose()?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::validation(format!("limit must be 1 to {MAX_LIMIT}")).detail("field", "limit".into()));
    }
    let filter = FeedFilter {
        kinds: q.kind.as_deref().map(|k| check_kind(k, "type").map(|k| vec![k])).transpose()?,
        group: q.group_id.as_deref().map(|g| parse_id::<GroupId>(g, "group_id")).transpose()?,
        user: q.user_id.as_deref().map(|u| parse_id::<UserId>(u, "user_id")).transpose()?,
    };
    let page = service.list_events(&caller, after, limit, filter).await?;
    Ok(HttpResponse::Ok()
        .json(EventPage { items: page.items.iter().map(EventView::from).collect(), next_cursor: crate::feed::cursor(page.next) }))
}

/// A field that may be sent as `null` (to clear it): absent is `None`,
/// `null` is `Some(None)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhookRequest {
    /// Where to post events: `https://` (or `http://`); loopback, private and
    /// link-local destinations are refused unless the operator allows them
    #[schema(min_length = 1, max_length = 2048, example = "https://hooks.example.com/rollcall")]
    pub url: String,
    /// The event types to deliver; every type when absent or `null`
    #[schema(min_items = 1, max_items = 50)]
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateWebhookRequest {
    #[schema(min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    /// `null`: every type
    #[serde(default, deserialize_with = "present")]
    #[schema(min_items = 1, max_items = 50)]
    pub event_types: Option<Option<Vec<String>>>,
    /// `null` clears it
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 500)]
    pub description: Option<Option<String>>,
    /// `true` re-enables a disabled webhook (its failures are forgotten; it
    /// resumes where it stopped, with what retention kept); `false` pauses it
    pub enabled: Option<bool>,
}

/// A webhook (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    #[schema(format = "uuid")]
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// The types delivered; `null`: every type
    pub event_types: Option<Vec<String>>,
    pub enabled: bool,
    /// Why it is disabled, when it is
    pub disabled_reason: Option<String>,
    #[schema(format = "uuid")]
    pub created_by: String,
    #[schema(format = "date-time")]
    pub created_at: String,
    #[schema(format = "date-time")]
    pub updated_at: String,
    /// The feed cursor delivered up to
    #[schema(pattern = "^[0-9]{1,19}$")]
    pub cursor: String,
    /// Failed attempts in a row
    pub failures: i32,
    /// Since when it has been failing
    #[schema(format = "date-time")]
    pub failing_since: Option<String>,
    /// When the next retry is due
    #[schema(format = "date-time")]
    pub next_attempt_at: Option<String>,
}

impl From<Webhook> for WebhookResponse {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            event_types: w.types(),
            url: w.url,
            description: w.description,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            created_by: w.created_by.to_string(),
            created_at: timestamp(w.created_at),
            updated_at: timestamp(w.updated_at),
            cursor: crate::feed::cursor(w.cursor),
            failures: w.failures,
            failing_since: w.failing_since.map(timestamp),
            next_attempt_at: w.next_attempt_at.map(timestamp),
        }
    }
}

/// A new webhook with its signing secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// The Standard Webhooks signing secret (`whsec_` and base64); it cannot be shown again
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookResponse>,
}

/// One attempt to deliver an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first attempt at this event, then 2, 3, …
    pub attempt: i32,
    #[schema(format = "date-time")]
    pub attempted_at: String,
    pub duration_ms: i32,
    /// The receiver's status code; `null` when none came (refused, timed out)
    pub status_code: Option<i32>,
    /// Why it failed
    pub error: Option<String>,
    pub delivered: bool,
    /// When this event is tried again (failed attempts)
    #[schema(format = "date-time")]
    pub next_retry_at: Option<String>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            attempt: d.attempt,
            attempted_at: timestamp(d.attempted_at),
            duration_ms: d.duration_ms,
            status_code: d.status_code,
            error: d.error,
            delivered: d.delivered,
            next_retry_at: d.next_retry_at.map(timestamp),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryLog {
    /// Newest first
    pub items: Vec<DeliveryResponse>,
    /// When the webhook's next attempt is due, if it is retrying
    #[schema(format = "date-time")]
    pub next_attempt_at: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// How many of the newest attempts, 1 to 1000
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
}

fn webhook_id(raw: &str) -> Result<WebhookId, Error> {
    parse_id(raw, "webhookId")
}

/// Create a webhook
///
/// Events from now on are posted to `url` as JSON (`{"type", "timestamp",
/// "data": Event}`), signed the Standard Webhooks way (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">` keyed by the secret's base64-decoded bytes), at
/// least once and in feed order; a failure is retried with exponential
/// backoff for 24 hours, then the webhook is disabled (`webhook.disabled`).
/// Any 2xx answer counts as delivered; redirects are not followed.
///
/// **Permissions:** administrators.
#[utoipa::path(
    tag = "Events",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "The webhook and its secret (shown once)", body = CreatedWebhook),
        (status = 400, description = "Invalid body or URL, an unknown event type, or a private destination (`VALIDATION_ERROR`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[post("/webhooks")]
pub async fn create_webhook(
    service: web::Data<Service>,
    caller: Caller,
    body: web::Json<CreateWebhookRequest>,
) -> Result<HttpResponse, Error> {
    let body = body.into_inner();
    let draft =
        WebhookDraft { url: Some(body.url), event_types: Some(body.event_types), description: Some(body.description), enabled: None };
    let hook = service.create_webhook(&caller, draft).await?;
    let secret = hook.secret.clone();
    Ok(HttpResponse::Created().json(CreatedWebhook { webhook: hook.into(), secret }))
}

/// List webhooks
///
/// **Permissions:** administrators.
#[utoipa::path(
    tag = "Events",
    responses((status = 200, description = "The account's webhooks, oldest first", body = WebhookList)),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/webhooks")]
pub async fn list_webhooks(service: web::Data<Service>, caller: Caller) -> Result<HttpResponse, Error> {
    let hooks = service.list_webhooks(&caller).await?;
    Ok(HttpResponse::Ok().json(WebhookList { items: hooks.into_iter().map(WebhookResponse::from).collect() }))
}

/// Get a webhook
///
/// **Permissions:** administrators.
#[utoipa::path(
    tag = "Events",
    params(("webhookId" = String, Path, format = "uuid", description = "The webhook id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookResponse),
        (status = 400, description = "The id is not a UUID (`VALIDATION_ERROR`)", body = ErrorResponse),
        (status = 404, description = "No such webhook (`WEBHOOK_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/webhooks/{webhookId}")]
pub async fn get_webhook(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let hook = service.get_webhook(&caller, webhook_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(hook)))
}

/// Update a webhook
///
/// Only the fields sent change. Enabling a disabled webhook clears its
/// failures; it resumes at its cursor.
///
/// **Permissions:** administrators.
#[utoipa::path(
    tag = "Events",
    params(("webhookId" = String, Path, format = "uuid", description = "The webhook id")),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "The webhook as updated", body = WebhookResponse),
        (status = 400, description = "Invalid body or URL, an unknown event type, or a private destination (`VALIDATION_ERROR`)", body = ErrorResponse),
        (status = 404, description = "No such webhook (`WEBHOOK_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[patch("/webhooks/{webhookId}")]
pub async fn update_webhook(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UpdateWebhookRequest>,
) -> Result<HttpResponse, Error> {
    let id = webhook_id(&path)?;
    let body = body.into_inner();
    let draft = WebhookDraft { url: body.url, event_types: body.event_types, description: body.description, enabled: body.enabled };
    let hook = service.update_webhook(&caller, id, draft).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(hook)))
}

/// Delete a webhook
///
/// Nothing more is delivered to it; its delivery log goes with it.
///
/// **Permissions:** administrators.
#[utoipa::path(
    tag = "Events",
    params(("webhookId" = String, Path, format = "uuid", description = "The webhook id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID (`VALIDATION_ERROR`)", body = ErrorResponse),
        (status = 404, description = "No such webhook (`WEBHOOK_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[delete("/webhooks/{webhookId}")]
pub async fn delete_webhook(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    service.delete_webhook(&caller, webhook_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's delivery log
///
/// Every attempt, newest first: when, the status code or error, and when
/// a failed event is tried again. Kept as long as events are.
///
/// **Permissions:** administrators.
#[utoipa::path(
    tag = "Events",
    params(("webhookId" = String, Path, format = "uuid", description = "The webhook id"), DeliveriesQuery),
    responses(
        (status = 200, description = "The attempts", body = DeliveryLog),
        (status = 400, description = "The id is not a UUID, or an invalid limit (`VALIDATION_ERROR`)", body = ErrorResponse),
        (status = 404, description = "No such webhook (`WEBHOOK_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/webhooks/{webhookId}/deliveries")]
pub async fn list_deliveries(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, Error> {
    let id = webhook_id(&path)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::validation("limit must be 1 to 1000").detail("field", "limit".into()));
    }
    let (hook, log) = service.webhook_deliveries(&caller, id, limit).await?;
    Ok(HttpResponse::Ok().json(DeliveryLog {
        items: log.into_iter().map(DeliveryResponse::from).collect(),
        next_attempt_at: hook.next_attempt_at.map(timestamp),
    }))
}
