//! SQLite's planner statistics, pinned.
//!
//! SQLite plans queries from `sqlite_stat1`. Without it the planner guesses
//! (and, for one account with many users, guessed wrong: it walked every
//! user of the account instead of probing 100 ids); with statistics gathered
//! while a table was small it trusts them long after the table has grown,
//! and scans `memberships` for the permission check of every request and
//! for every member page (seconds per page of a 100,000-member group).
//! `ANALYZE` run on one connection is not even seen by the others until the
//! schema changes.
//!
//! So Rollcall does what SQLite's documentation suggests for applications
//! that want the same plans whatever the data ("fixed results of ANALYZE"):
//! it writes statistics describing a large tenant — a million users, ten
//! million memberships, a thousand members a group, ten groups a user —
//! whose plans are the right ones at every size, and rewrites them at each
//! start, so a stray `ANALYZE` is undone by the next restart. PostgreSQL
//! keeps its own statistics current (autovacuum) and needs none of this.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

/// `(table, index, stat)` rows of `sqlite_stat1`: the index's row count,
/// then the average number of rows per distinct value of each prefix of its
/// columns (`sqlite_autoindex_*` are the primary-key and UNIQUE indexes, in
/// declaration order).
pub const PINNED: &[(&str, &str, &str)] = &[
    ("accounts", "sqlite_autoindex_accounts_1", "100 1"),
    ("accounts", "sqlite_autoindex_accounts_2", "100 1"),
    ("users", "sqlite_autoindex_users_1", "1000000 1"),
    ("users", "users_account_email_key", "1000000 10000 1"),
    ("users", "users_account_username_key", "1000000 10000 1"),
    // Partial index: only deleted users, a few of all.
    ("users", "users_deleted", "1000 1"),
    ("users", "users_account_scim_user_name_key", "1000000 10000 1"),
    // Partial indexes: only rows an identity provider gave an externalId.
    ("users", "users_account_external_id", "1000000 10000 1"),
    ("groups", "groups_account_external_id", "10000 100 1"),
    ("groups", "sqlite_autoindex_groups_1", "10000 1"),
    ("groups", "groups_account_name_key", "10000 100 1"),
    ("groups", "groups_account_scim_display_name_key", "10000 100 1"),
    ("group_permissions", "sqlite_autoindex_group_permissions_1", "1000 2 1"),
    ("memberships", "sqlite_autoindex_memberships_1", "10000000 1000 1"),
    ("memberships", "memberships_user", "10000000 10"),
    // A group's member counters: one slot on SQLite.
    ("member_counts", "sqlite_autoindex_member_counts_1", "10000 1 1"),
    ("group_children", "sqlite_autoindex_group_children_1", "1000 2 1"),
    ("group_children", "group_children_account", "1000 100"),
    ("group_children", "group_children_child", "1000 1"),
    ("hierarchy_versions", "sqlite_autoindex_hierarchy_versions_1", "100 1"),
    ("settings", "sqlite_autoindex_settings_1", "10 1"),
    ("api_keys", "sqlite_autoindex_api_keys_1", "100000 1"),
    ("api_keys", "api_keys_account_user", "100000 1000 10"),
    ("sessions", "sqlite_autoindex_sessions_1", "1000000 1"),
    ("sessions", "sessions_user", "1000000 10"),
    // The change feed: an account's events in position order.
    ("events", "events_feed", "10000000 100000 1"),
    ("event_retention", "sqlite_autoindex_event_retention_1", "100 1"),
    ("webhooks", "sqlite_autoindex_webhooks_1", "1000 1"),
    ("webhooks", "webhooks_account", "1000 10 1"),
    ("webhook_deliveries", "sqlite_autoindex_webhook_deliveries_1", "1000000 1"),
    ("webhook_deliveries", "webhook_deliveries_webhook", "1000000 1000 1"),
    ("webhook_deliveries", "webhook_deliveries_attempted", "1000000 1"),
];

#[derive(QueryableByName, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct StatRow {
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Nullable<Text>)]
    idx: Option<String>,
    #[diesel(sql_type = Text)]
    stat: String,
}

fn pinned_rows() -> Vec<StatRow> {
    let mut rows: Vec<StatRow> =
        PINNED.iter().map(|(tbl, idx, stat)| StatRow { tbl: (*tbl).into(), idx: Some((*idx).into()), stat: (*stat).into() }).collect();
    rows.sort();
    rows
}

/// Writes the pinned statistics unless they are already there. Other
/// connections (this process's pool, other processes) load statistics only
/// with the schema, so a change ends with a schema change that makes each of
/// them reload at its next statement.
pub fn pin(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.transaction(|conn| {
        // Creates sqlite_stat1 when missing (and analyzes nothing else).
        conn.batch_execute("ANALYZE sqlite_schema")?;
        let current: Vec<StatRow> = diesel::sql_query("SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY tbl, idx, stat").load(conn)?;
        // SQLite built with STAT4 (the bundled one is) also keeps the key
        // samples an ANALYZE took; pinned statistics leave none.
        let has_samples_table = count(conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'")? > 0;
        let samples = if has_samples_table { count(conn, "SELECT count(*) FROM sqlite_stat4")? } else { 0 };
        if current == pinned_rows() && samples == 0 {
            return Ok(());
        }
        diesel::sql_query("DELETE FROM sqlite_stat1").execute(conn)?;
        if has_samples_table {
            diesel::sql_query("DELETE FROM sqlite_stat4").execute(conn)?;
        }
        for (tbl, idx, stat) in PINNED {
            diesel::sql_query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)")
                .bind::<Text, _>(*tbl)
                .bind::<Text, _>(*idx)
                .bind::<Text, _>(*stat)
                .execute(conn)?;
        }
        conn.batch_execute(
            "CREATE TABLE rollcall_reload_statistics (x INTEGER); DROP TABLE rollcall_reload_statistics; \
             ANALYZE sqlite_schema;",
        )
    })
}

fn count(conn: &mut SqliteConnection, query: &str) -> QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<BigInt>(&format!("({query})"))).get_result(conn)
}
