//! Model-based check of "delegated rights never grow themselves": random
//! group trees with random grants, random members, then random sequences of
//! membership and nesting calls by non-administrators on every surface. After
//! each call, read the real state from the database, compute everyone's
//! permissions with an implementation of the rule independent of the
//! server's, and assert that
//! - nobody holds a permission that neither they nor the caller held before
//!   (so in particular the caller gains nothing), and
//! - the server answered what the rule predicts (allowed calls succeed, so
//!   the check is not passed by refusing everything).
//!
//! The seed is printed; `ROLLCALL_MODEL_SEED=N` replays one scenario.

use std::collections::{BTreeSet, HashMap, HashSet};

use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use rollcall::db::schema::{group_children, group_permissions, groups, memberships};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

const M: &str = "/api/security";
const PERMISSIONS: [&str; 8] =
    ["group_read", "group_create", "group_update", "group_delete", "user_read", "user_create", "user_update", "user_delete"];
const ADMIN: &str = "ADMIN";

/// The account's state as stored.
struct State {
    system: String,
    members: HashSet<(String, String)>,
    edges: HashSet<(String, String)>,
    grants: HashMap<String, BTreeSet<String>>,
}

impl State {
    #[allow(clippy::type_complexity)]
    fn read(app: &TestApp) -> State {
        let account = app.tenant.account_id.clone();
        let mut conn = app.pool.get().unwrap();
        let (system, ids, members, edges, grants): (
            String,
            Vec<String>,
            Vec<(String, String)>,
            Vec<(String, String)>,
            Vec<(String, String)>,
        ) = rollcall::with_conn!(&mut conn, |c| {
            let system = groups::table
                .filter(groups::account_id.eq(&account))
                .filter(groups::is_system.eq(true))
                .select(groups::id)
                .first(c)
                .unwrap();
            let ids: Vec<String> = groups::table.filter(groups::account_id.eq(&account)).select(groups::id).load(c).unwrap();
            let members = memberships::table
                .filter(memberships::group_id.eq_any(&ids))
                .select((memberships::group_id, memberships::user_id))
                .load(c)
                .unwrap();
            let edges = group_children::table
                .filter(group_children::account_id.eq(&account))
                .select((group_children::parent_id, group_children::child_id))
                .load(c)
                .unwrap();
            let grants = group_permissions::table
                .filter(group_permissions::group_id.eq_any(&ids))
                .select((group_permissions::group_id, group_permissions::permission))
                .load(c)
                .unwrap();
            (system, ids, members, edges, grants)
        });
        let mut by_group: HashMap<String, BTreeSet<String>> = ids.into_iter().map(|g| (g, BTreeSet::new())).collect();
        for (g, p) in grants {
            by_group.entry(g).or_default().insert(p);
        }
        State { system, members: members.into_iter().collect(), edges: edges.into_iter().collect(), grants: by_group }
    }

    /// `group` and every group above it.
    fn up_from(&self, group: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::from([group.to_owned()]);
        let mut todo = vec![group.to_owned()];
        while let Some(g) = todo.pop() {
            for (parent, child) in &self.edges {
                if *child == g && seen.insert(parent.clone()) {
                    todo.push(parent.clone());
                }
            }
        }
        seen
    }

    /// What membership of `group` grants (ADMIN stands for everything).
    fn granted_by(&self, group: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for g in self.up_from(group) {
            if g == self.system {
                out.insert(ADMIN.to_owned());
                out.extend(PERMISSIONS.iter().map(|p| p.to_string()));
            }
            out.extend(self.grants[&g].iter().cloned());
        }
        out
    }

    fn held_by(&self, user: &str) -> BTreeSet<String> {
        self.members.iter().filter(|(_, u)| u == user).flat_map(|(g, _)| self.granted_by(g)).collect()
    }

    fn covers(held: &BTreeSet<String>, granted: &BTreeSet<String>) -> bool {
        held.contains(ADMIN) || granted.is_subset(held)
    }
}

#[derive(Debug, Clone)]
enum Op {
    AddOne { group: usize, user: usize },
    AddV1 { group: usize, users: Vec<usize> },
    AddBulk { group: usize, users: Vec<usize> },
    Nest { parent: usize, child: usize },
    NestBulk { parent: usize, children: Vec<usize> },
    RemoveOne { group: usize, user: usize },
    RemoveV1 { group: usize, users: Vec<usize> },
    Unnest { parent: usize, child: usize },
}

struct World {
    /// Group ids; the last one is System Administrators.
    groups: Vec<String>,
    users: Vec<String>,
    tokens: Vec<String>,
}

async fn build_world(app: &TestApp, rng: &mut StdRng) -> World {
    let mut groups = Vec::new();
    for i in 0..7 {
        let id = app.create_group(&format!("G{i}")).await;
        let granted: Vec<&str> =
            PERMISSIONS.iter().copied().filter(|p| rng.random_bool(if *p == "group_update" { 0.5 } else { 0.25 })).collect();
        let r = app.send(app.request(Method::PATCH, &format!("/v1/groups/{id}")).json(&json!({"permissions": granted}))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        groups.push(id);
    }
    let system = State::read(app).system;
    groups.push(system);
    // Random nesting, the system group included as a parent now and then.
    for child in 0..7 {
        if rng.random_bool(0.5) {
            let parent = if rng.random_bool(0.15) { 7 } else { rng.random_range(0..8) };
            app.send(app.request(Method::PUT, &format!("{M}/groups/{}/groups/{}", groups[parent], groups[child]))).await;
        }
    }
    let mut users = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..6 {
        let id = app.create_user(&format!("u{i}@example.com"), Some(&format!("u{i}"))).await;
        for _ in 0..rng.random_range(1..3) {
            let g = rng.random_range(0..7);
            let r = app.send(app.request(Method::PUT, &format!("{M}/groups/{}/users/{id}", groups[g]))).await;
            assert_eq!(r.status, 204, "{}", r.text);
        }
        tokens.push(app.token_for(&app.tenant, &id));
        users.push(id);
    }
    World { groups, users, tokens }
}

fn random_op(rng: &mut StdRng) -> Op {
    let group = rng.random_range(0..8);
    let some_users = |rng: &mut StdRng| (0..rng.random_range(1..4)).map(|_| rng.random_range(0..6)).collect::<Vec<_>>();
    match rng.random_range(0..8) {
        0 => Op::AddOne { group, user: rng.random_range(0..6) },
        1 => Op::AddV1 { group, users: some_users(rng) },
        2 => Op::AddBulk { group, users: some_users(rng) },
        3 => Op::Nest { parent: group, child: rng.random_range(0..8) },
        4 => Op::NestBulk { parent: group, children: (0..rng.random_range(1..3)).map(|_| rng.random_range(0..7)).collect() },
        // Members leave System Administrators only by an administrator's
        // hand; here removal targets the other groups.
        5 => Op::RemoveOne { group: group % 7, user: rng.random_range(0..6) },
        6 => Op::RemoveV1 { group: group % 7, users: some_users(rng) },
        _ => Op::Unnest { parent: group, child: rng.random_range(0..7) },
    }
}

/// The statuses the rule predicts for `op` by `actor` in `state`.
fn predict(state: &State, world: &World, actor: usize, op: &Op) -> Vec<u16> {
    let held = state.held_by(&world.users[actor]);
    let may_update = held.contains("group_update") || held.contains(ADMIN);
    if !may_update {
        return vec![403];
    }
    let may_grant = |g: usize| State::covers(&held, &state.granted_by(&world.groups[g]));
    let cycles = |parent: usize, child: usize| parent == child || state.up_from(&world.groups[parent]).contains(&world.groups[child]);
    match op {
        Op::AddOne { group, .. } => vec![if may_grant(*group) { 204 } else { 403 }],
        Op::AddV1 { group, .. } => vec![if may_grant(*group) { 201 } else { 403 }],
        Op::AddBulk { group, .. } => vec![if may_grant(*group) { 204 } else { 403 }],
        Op::Nest { parent, child } => vec![if !may_grant(*parent) {
            403
        } else if cycles(*parent, *child) {
            400
        } else {
            204
        }],
        Op::NestBulk { parent, children } => vec![if !may_grant(*parent) {
            403
        } else if children.iter().any(|c| cycles(*parent, *c)) {
            400
        } else {
            204
        }],
        Op::RemoveOne { group, user } => {
            vec![if state.members.contains(&(world.groups[*group].clone(), world.users[*user].clone())) { 204 } else { 404 }]
        }
        Op::RemoveV1 { .. } => vec![204],
        Op::Unnest { parent, child } => vec![if *parent == 7 && !held.contains(ADMIN) {
            403
        } else if state.edges.contains(&(world.groups[*parent].clone(), world.groups[*child].clone())) {
            204
        } else {
            404
        }],
    }
}

async fn perform(app: &TestApp, world: &World, actor: usize, op: &Op) -> (u16, String) {
    let token = &world.tokens[actor];
    let g = |i: usize| world.groups[i].clone();
    let ids = |list: &[usize]| json!(list.iter().map(|u| world.users[*u].clone()).collect::<Vec<_>>());
    let request = match op {
        Op::AddOne { group, user } => {
            app.request_as(&app.tenant, token, Method::PUT, &format!("{M}/groups/{}/users/{}", g(*group), world.users[*user]))
        }
        Op::AddV1 { group, users } => {
            app.request_as(&app.tenant, token, Method::PUT, &format!("/v1/groups/{}/users", g(*group))).json(&ids(users))
        }
        Op::AddBulk { group, users } => app
            .request_as(&app.tenant, token, Method::POST, &format!("/api/management/security/groups/{}/users/", g(*group)))
            .json(&ids(users)),
        Op::Nest { parent, child } => {
            app.request_as(&app.tenant, token, Method::PUT, &format!("{M}/groups/{}/groups/{}", g(*parent), g(*child)))
        }
        Op::NestBulk { parent, children } => app
            .request_as(&app.tenant, token, Method::POST, &format!("{M}/groups/{}/groups", g(*parent)))
            .json(&json!(children.iter().map(|c| g(*c)).collect::<Vec<_>>())),
        Op::RemoveOne { group, user } => {
            app.request_as(&app.tenant, token, Method::DELETE, &format!("{M}/groups/{}/users/{}", g(*group), world.users[*user]))
        }
        Op::RemoveV1 { group, users } => {
            app.request_as(&app.tenant, token, Method::DELETE, &format!("/v1/groups/{}/users", g(*group))).json(&ids(users))
        }
        Op::Unnest { parent, child } => {
            app.request_as(&app.tenant, token, Method::DELETE, &format!("{M}/groups/{}/groups/{}", g(*parent), g(*child)))
        }
    };
    let r = app.send(request).await;
    (r.status.as_u16(), r.text)
}

async fn no_sequence_of_delegated_calls_grows_anyones_rights(mut app: TestApp) {
    let base_seed: u64 = std::env::var("ROLLCALL_MODEL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let mut allowed_adds = 0;
    let mut refused_adds = 0;
    // Each scenario in an account of its own.
    for scenario in 0..3u64 {
        let seed = base_seed.wrapping_add(scenario);
        app.tenant = app.new_tenant(&format!("model-{seed}"));
        let mut rng = StdRng::seed_from_u64(seed);
        let world = build_world(&app, &mut rng).await;
        for step in 0..50 {
            let actor = rng.random_range(0..world.users.len());
            let op = random_op(&mut rng);
            let before = State::read(&app);
            let expected = predict(&before, &world, actor, &op);
            let (status, text) = perform(&app, &world, actor, &op).await;
            let context = format!("seed {seed}, step {step}: u{actor} {op:?}");
            assert!(expected.contains(&status), "{context}: expected {expected:?}, got {status} {text}");
            let after = State::read(&app);
            let actor_before = before.held_by(&world.users[actor]);
            for (i, user) in world.users.iter().enumerate() {
                let was: BTreeSet<String> = before.held_by(user).union(&actor_before).cloned().collect();
                let now = after.held_by(user);
                assert!(
                    State::covers(&was, &now),
                    "{context}: u{i} now holds {now:?}; before: own {:?}, caller's {actor_before:?}",
                    before.held_by(user)
                );
            }
            assert!(State::covers(&actor_before, &after.held_by(&world.users[actor])), "{context}: the caller gained rights");
            if matches!(op, Op::AddOne { .. } | Op::AddV1 { .. } | Op::AddBulk { .. } | Op::Nest { .. } | Op::NestBulk { .. }) {
                if status == 403 {
                    refused_adds += 1;
                } else {
                    allowed_adds += 1;
                }
            }
        }
    }
    eprintln!("privilege model (seed {base_seed}): {allowed_adds} adds/nestings allowed, {refused_adds} refused");
    assert!(allowed_adds > 0 && refused_adds > 0, "the scenarios exercised both sides of the rule");
}

backend_tests!(no_sequence_of_delegated_calls_grows_anyones_rights);
