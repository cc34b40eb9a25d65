//! Webhook delivery (README, "Change feed and webhooks"), driven from the
//! stored feed: each webhook has a cursor (the last position delivered or
//! skipped), and one instance at a time — the holder of its lease — posts
//! the events after it, one at a time and in order, moving the cursor only
//! after a 2xx. A crash (even `kill -9`) between the post and the cursor
//! write means the event is posted again: at least once, in order.
//!
//! A failed post is retried after 2^n × the base delay (at most an hour),
//! for as long as the retry window; a webhook failing longer is disabled,
//! which is itself an event (`webhook.disabled`).

pub mod guard;
pub mod sign;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::config::FeedConfig;
use crate::db::events::{Event, FeedFilter};
use crate::db::webhooks::{Delivery, Webhook};
use crate::db::{self};
use crate::domain::WebhookId;
use crate::engine::now;
use crate::error::Error;
use crate::feed::EventView;
use crate::service::Service;

/// Longest webhook URL accepted.
pub const MAX_URL: usize = 2048;
/// Events one pass of a webhook reads at a time.
const PAGE: i64 = 100;
/// How often the dispatcher looks for due webhooks without a signal.
const POLL: Duration = Duration::from_millis(250);
/// The least time between two looks (what a busy instance waits more).
const DISPATCH_GAP: Duration = Duration::from_millis(50);
/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// A webhook URL as a client sends it: `http` or `https`, a host, no
/// credentials; with private destinations refused, not a literal inward
/// address nor `localhost` (names are checked again at each delivery).
pub fn check_url(raw: &str, allow_private: bool) -> Result<String, Error> {
    let invalid = |why: &str| Error::validation(format!("The webhook URL {why}")).detail("field", "url".into());
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL {
        return Err(invalid(&format!("must be 1 to {MAX_URL} characters")));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| invalid(&format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    let Some(host) = url.host() else { return Err(invalid("must name a host")) };
    if !allow_private {
        let inward = match host {
            url::Host::Ipv4(ip) => !guard::is_public(ip.into()),
            url::Host::Ipv6(ip) => !guard::is_public(ip.into()),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost")
            }
        };
        if inward {
            return Err(Error::validation(
                "The webhook URL points at a loopback, private or link-local address; the operator can allow that with --webhooks-allow-private",
            )
            .detail("field", "url".into()));
        }
    }
    Ok(url.to_string())
}

fn client(config: &FeedConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(config.webhook_timeout_secs))
        .connect_timeout(Duration::from_secs(config.webhook_timeout_secs.min(5)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(guard::GuardedResolver::shared(config.webhooks_allow_private))
        .user_agent(concat!("rollcall-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the webhook HTTP client builds")
}

/// The wait before the retry after `failures` failed attempts in a row.
pub fn backoff(config: &FeedConfig, failures: i32) -> Duration {
    let base = Duration::from_millis(config.webhook_retry_base_ms.max(1));
    base.saturating_mul(1u32 << failures.clamp(0, 20)).min(MAX_BACKOFF)
}

/// Starts this instance's dispatcher (on the current runtime).
pub fn start(service: &Service) {
    let service = service.clone();
    tokio::spawn(async move {
        let owner = uuid::Uuid::new_v4().to_string();
        let client = client(service.feed_config());
        let active: Arc<Mutex<HashSet<WebhookId>>> = Arc::default();
        loop {
            if let Err(e) = dispatch_due(&service, &client, &owner, &active).await {
                tracing::warn!("webhook dispatch failed: {e}");
            }
            let _ = tokio::time::timeout(POLL, service.feed_signals().positioned.notified()).await;
            // New events that come meanwhile are looked for together.
            tokio::time::sleep(DISPATCH_GAP).await;
        }
    });
}

async fn dispatch_due(
    service: &Service,
    client: &reqwest::Client,
    owner: &str,
    active: &Arc<Mutex<HashSet<WebhookId>>>,
) -> Result<(), Error> {
    let due = service
        .pool()
        .run(|conn| {
            let head = db::events::head(conn)?;
            Ok(db::webhooks::due(conn, head, now())?)
        })
        .await?;
    let lease = lease(service.feed_config());
    for id in due {
        if !active.lock().expect("the active set").insert(id) {
            continue;
        }
        let owner_id = owner.to_owned();
        let claimed = service
            .pool()
            .write(move |conn| {
                let at = now();
                Ok(db::webhooks::claim(conn, id, &owner_id, at, at + lease)?)
            })
            .await;
        match claimed {
            Ok(Some(hook)) => {
                let (service, client, owner, active) = (service.clone(), client.clone(), owner.to_owned(), active.clone());
                tokio::spawn(async move {
                    if let Err(e) = deliver(&service, &client, &owner, hook).await {
                        tracing::warn!(webhook = %id, "webhook delivery stopped: {e}");
                    }
                    active.lock().expect("the active set").remove(&id);
                });
            }
            outcome => {
                active.lock().expect("the active set").remove(&id);
                outcome?;
            }
        }
    }
    Ok(())
}

fn lease(config: &FeedConfig) -> chrono::Duration {
    // Always longer than one post may take.
    chrono::Duration::seconds(config.webhook_lease_secs.max(config.webhook_timeout_secs + 2) as i64)
}

/// Posts the webhook's events after its cursor, in order, while it holds the
/// lease; stops at the first failure (scheduling the retry) or when caught up.
async fn deliver(service: &Service, client: &reqwest::Client, owner: &str, hook: Webhook) -> Result<(), Error> {
    let config = service.feed_config().clone();
    let lease = lease(&config);
    let filter = FeedFilter { kinds: hook.types(), ..FeedFilter::default() };
    let (account, id) = (hook.account_id, hook.id);
    let mut cursor = hook.cursor;
    let mut failures = hook.failures;
    let failing_since = hook.failing_since;
    loop {
        let f = filter.clone();
        let (events, next) = service
            .pool()
            .run(move |conn| {
                let through = db::events::pruned_through(conn, account)?;
                Ok(db::events::page(conn, account, cursor.max(through), PAGE, &f)?)
            })
            .await?;
        for event in &events {
            let attempt = failures + 1;
            let started = Instant::now();
            let outcome = post(client, &hook, event, config.webhooks_allow_private).await;
            let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
            let at = now();
            let (status_code, error) = match &outcome {
                Ok(status) if (200..300).contains(status) => (Some(i32::from(*status)), None),
                Ok(status) => (Some(i32::from(*status)), Some(format!("answered {status}"))),
                Err(why) => (None, Some(why.clone())),
            };
            let delivered = error.is_none();
            let retry_at = (!delivered).then(|| at + chrono::Duration::from_std(backoff(&config, failures)).unwrap_or_default());
            let since = failing_since.filter(|_| failures > 0).unwrap_or(at);
            let give_up = !delivered && (at - since).num_seconds() >= config.webhook_retry_window_secs as i64;
            let log = Delivery {
                id: uuid::Uuid::new_v4().to_string(),
                webhook_id: id,
                event_id: event.id.clone(),
                event_type: event.kind.clone(),
                event_pos: event.position(),
                attempt,
                attempted_at: at,
                duration_ms,
                status_code,
                error: error.clone(),
                delivered,
                next_retry_at: retry_at.filter(|_| !give_up),
            };
            let (owner_id, pos) = (owner.to_owned(), event.position());
            let held = service
                .pool()
                .write(move |conn| {
                    conn.write(|conn| {
                        db::webhooks::log_delivery(conn, &log)?;
                        Ok(match retry_at {
                            None => db::webhooks::advance(conn, id, &owner_id, pos, at + lease)?,
                            Some(retry_at) => db::webhooks::failed(conn, id, &owner_id, since, retry_at)?,
                        })
                    })
                })
                .await?;
            if !held {
                return Ok(());
            }
            if !delivered {
                if give_up {
                    disable(service, id, owner, &error.unwrap_or_default(), since).await?;
                }
                return Ok(());
            }
            failures = 0;
            cursor = pos;
        }
        if events.len() as i64 == PAGE {
            continue;
        }
        // Caught up: the cursor moves past what the filter skipped.
        let owner_id = owner.to_owned();
        service
            .pool()
            .write(move |conn| {
                if next > cursor {
                    db::webhooks::advance(conn, id, &owner_id, next, now() + lease)?;
                }
                db::webhooks::release(conn, id, &owner_id)?;
                Ok(())
            })
            .await?;
        return Ok(());
    }
}

/// Disables a webhook that kept failing (an event of its own).
async fn disable(service: &Service, id: WebhookId, owner: &str, last_error: &str, since: NaiveDateTime) -> Result<(), Error> {
    // The lease was given up with the failure; take it back to disable.
    let owner_id = owner.to_owned();
    let reason = format!("failing since {} (last: {last_error})", since.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    service
        .write_as_system(move |w| {
            let at = now();
            let Some(hook) = db::webhooks::claim(w, id, &owner_id, at, at + chrono::Duration::seconds(60))? else { return Ok(false) };
            Ok(db::webhooks::disable(w, hook.id, &owner_id, &reason, at)?)
        })
        .await?;
    Ok(())
}

/// One post of one event: the status code, or why none came.
async fn post(client: &reqwest::Client, hook: &Webhook, event: &Event, allow_private: bool) -> Result<u16, String> {
    let timestamp = chrono::Utc::now().timestamp();
    let body = serde_json::to_vec(&serde_json::json!({
        "type": event.kind,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": EventView::from(event),
    }))
    .map_err(|e| e.to_string())?;
    let signature = sign::signature(&hook.secret, &event.id, timestamp, &body);
    let url = reqwest::Url::parse(&hook.url).map_err(|e| format!("invalid URL: {e}"))?;
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::from(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::from(ip)),
        _ => None,
    };
    // The resolver guards names; a literal address is checked here.
    if let Some(ip) = literal {
        if !allow_private && !guard::is_public(ip) {
            return Err(format!("{ip} is a private address"));
        }
    }
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &event.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(response.status().as_u16())
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}
