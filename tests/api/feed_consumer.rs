//! The feed's guarantee under load, where it is hardest: two instances on
//! one PostgreSQL database, whose transactions commit out of the order they
//! were numbered, 32 concurrent writers for 30 seconds, and a consumer
//! following the feed meanwhile. The consumer's events must equal the
//! acknowledged changes: none missing, none twice, each writer's in the
//! order it made them. (SQLite runs it too, shorter: one writer commits at
//! a time there, so it is the easy case.)

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

const WRITERS: usize = 32;
const USERS_PER_WRITER: usize = 4;

/// A change as a writer saw it acknowledged, or as the feed has it.
type Change = (String, String, String); // (type, group, user)

struct Writer {
    base: [String; 2],
    account: String,
    token: String,
    group: String,
    users: Vec<String>,
}

impl Writer {
    fn request(&self, client: &reqwest::Client, n: usize, method: Method, path: &str) -> reqwest::RequestBuilder {
        client.request(method, format!("{}{path}", self.base[n % 2])).bearer_auth(&self.token).header("X-Account-ID", &self.account)
    }

    /// Adds and removes its own users in its own group until `stop`, on
    /// both instances by turns; returns what was acknowledged, in order.
    /// (A bulk add is one step: its events share a transaction, in no set order.)
    async fn run(self, stop: Arc<AtomicBool>, seed: u64) -> Vec<Vec<Change>> {
        let client = reqwest::Client::new();
        let mut member = vec![false; self.users.len()];
        let mut acked = Vec::new();
        let mut state = seed;
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pick = (state >> 33) as usize % self.users.len();
            let path = format!("/v1/groups/{}/users", self.group);
            if n % 10 == 9 {
                // A bulk add of all: only the new memberships are changes.
                let r = self.request(&client, n, Method::PUT, &path).json(&json!(self.users)).send().await.expect("sent");
                assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap_or_default());
                let mut step = Vec::new();
                for (i, user) in self.users.iter().enumerate() {
                    if !member[i] {
                        step.push(("membership.added".to_owned(), self.group.clone(), user.clone()));
                        member[i] = true;
                    }
                }
                if !step.is_empty() {
                    acked.push(step);
                }
            } else if member[pick] {
                let r = self.request(&client, n, Method::DELETE, &path).json(&json!([self.users[pick]])).send().await.expect("sent");
                assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text().await.unwrap_or_default());
                acked.push(vec![("membership.removed".to_owned(), self.group.clone(), self.users[pick].clone())]);
                member[pick] = false;
            } else {
                let r = self.request(&client, n, Method::PUT, &path).json(&json!([self.users[pick]])).send().await.expect("sent");
                assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap_or_default());
                acked.push(vec![("membership.added".to_owned(), self.group.clone(), self.users[pick].clone())]);
                member[pick] = true;
            }
            n += 1;
        }
        acked
    }
}

/// Follows the feed on `base` from `after` until `stop` is set and two
/// polls a while apart find nothing new.
async fn consume(base: String, account: String, token: String, after: String, stop: Arc<AtomicBool>) -> (Vec<Value>, usize) {
    let client = reqwest::Client::new();
    let mut cursor = after;
    let mut events = Vec::new();
    let (mut pages, mut idle) = (0, 0);
    loop {
        // A poll is a read: a consumer sends it again when its connection
        // fails (a kept-alive connection the server closed as it was
        // reused, on a loaded machine), with the same cursor.
        let mut attempt = 0;
        let r = loop {
            let sent = client
                .get(format!("{base}/v1/events?after={cursor}&limit=1000"))
                .bearer_auth(&token)
                .header("X-Account-ID", &account)
                .send()
                .await;
            match sent {
                Ok(r) => break r,
                Err(e) if attempt < 3 && (e.is_request() || e.is_connect()) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("sent: {e:?}"),
            }
        };
        assert_eq!(r.status(), StatusCode::OK);
        let page: Value = r.json().await.expect("a page");
        pages += 1;
        let items = page["items"].as_array().expect("items");
        cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
        if items.is_empty() {
            if stop.load(Ordering::SeqCst) {
                idle += 1;
                if idle >= 3 {
                    return (events, pages);
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            } else {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            continue;
        }
        idle = 0;
        events.extend(items.iter().cloned());
    }
}

async fn a_consumer_sees_every_acknowledged_change_once_in_commit_order(backend: Backend, seconds: u64) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let second = app.start_another_instance();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let group = app.create_group(&format!("Writer {w}")).await;
        let mut users = Vec::new();
        for u in 0..USERS_PER_WRITER {
            users.push(app.create_user(&format!("w{w}u{u}@example.com"), None).await);
        }
        writers.push(Writer {
            base: [app.address.clone(), second.clone()],
            account: app.tenant.account_id.clone(),
            token: app.tenant.token.clone(),
            group,
            users,
        });
    }
    let start = app.feed_head().await;
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = tokio::spawn(consume(second.clone(), app.tenant.account_id.clone(), app.tenant.token.clone(), start, stop.clone()));
    let began = Instant::now();
    let handles: Vec<_> = writers.into_iter().enumerate().map(|(i, w)| tokio::spawn(w.run(stop.clone(), i as u64 + 1))).collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::SeqCst);
    let mut acked: BTreeMap<String, Vec<Vec<Change>>> = BTreeMap::new();
    for h in handles {
        let steps = h.await.expect("a writer");
        if let Some(first) = steps.first() {
            acked.insert(first[0].1.clone(), steps);
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    let (events, pages) = consumer.await.expect("the consumer");

    let ids: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "no event twice");
    let cursors: Vec<u64> = events.iter().map(|e| e["cursor"].as_str().unwrap().parse().unwrap()).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "in feed order");
    let mut seen: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for e in &events {
        let change = (
            e["type"].as_str().unwrap().to_owned(),
            e["group_id"].as_str().unwrap_or("").to_owned(),
            e["user_id"].as_str().unwrap_or("").to_owned(),
        );
        seen.entry(change.1.clone()).or_default().push(change);
    }
    let total: usize = acked.values().flatten().map(Vec::len).sum();
    assert_eq!(seen.keys().collect::<BTreeSet<_>>(), acked.keys().collect::<BTreeSet<_>>(), "events only of the writers' groups");
    for (group, steps) in &acked {
        let feed = &seen[group];
        let want: usize = steps.iter().map(Vec::len).sum();
        assert_eq!(feed.len(), want, "writer of {group}: as many events as acknowledged changes");
        let mut at = 0;
        for (n, step) in steps.iter().enumerate() {
            let mut got = feed[at..at + step.len()].to_vec();
            let mut step = step.clone();
            got.sort();
            step.sort();
            assert_eq!(got, step, "writer of {group}, step {n} of {}: in the order acknowledged", steps.len());
            at += step.len();
        }
    }
    assert_eq!(events.len(), total);
    eprintln!(
        "{backend:?}: {WRITERS} writers on 2 instances for {elapsed:.1} s: {total} acknowledged changes ({:.0}/s), {} events consumed in {pages} polls, 0 missing, 0 duplicated",
        total as f64 / elapsed,
        events.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_consumer_sees_every_acknowledged_change_once_in_commit_order() {
    let seconds = std::env::var("ROLLCALL_FEED_TEST_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    a_consumer_sees_every_acknowledged_change_once_in_commit_order(Backend::Postgres, seconds).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_consumer_sees_every_acknowledged_change_once_in_commit_order() {
    a_consumer_sees_every_acknowledged_change_once_in_commit_order(Backend::Sqlite, 5).await;
}
