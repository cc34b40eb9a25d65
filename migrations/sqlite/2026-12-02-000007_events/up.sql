-- The change feed (README, "Change feed and webhooks"): the events of each
-- change, written in the transaction of the change. SQLite commits one
-- writer at a time, so the positions (from event_head) are assigned as the
-- rows are written and are commit order; `pos` is a row's last position and
-- `seq` the same number.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    pos            BIGINT,
    account_id     TEXT NOT NULL,
    type           TEXT NOT NULL,
    occurred_at    TIMESTAMP NOT NULL,
    actor_user_id  TEXT,
    actor_key_id   TEXT,
    request_id     TEXT,
    group_id       TEXT,
    user_id        TEXT,
    child_group_id TEXT,
    api_key_id     TEXT,
    webhook_id     TEXT,
    fields         TEXT,
    -- A run of membership changes of one kind by one actor (a bulk, or the
    -- single adds of one transaction) is one row of `n` events at the
    -- positions up to `pos` (at most 1,000): `users` lists their users, and
    -- `groups` and `requests` their groups and request ids unless all share
    -- `group_id` and `request_id` (JSON arrays). Otherwise n = 1. An event's
    -- id is derived from its position.
    users          TEXT,
    groups         TEXT,
    requests       TEXT,
    n              INTEGER NOT NULL
);
CREATE INDEX events_feed ON events (account_id, pos);

-- The last position handed out (one row).
CREATE TABLE event_head (
    id   INTEGER PRIMARY KEY,
    last BIGINT NOT NULL
);
INSERT INTO event_head (id, last) VALUES (1, 0);

-- Per account, the last position the retention pruning removed: a cursor
-- below it has missed events (410 CURSOR_EXPIRED).
CREATE TABLE event_retention (
    account_id     TEXT PRIMARY KEY,
    pruned_through BIGINT NOT NULL
);

-- The webhooks of an account. `cursor` is the feed position delivered up
-- to (every event at or below it is delivered or not meant for it); one
-- instance at a time delivers, holding the lease. The secret signs
-- deliveries, so it is stored as it is (shown to the client once).
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    url             TEXT NOT NULL,
    description     TEXT,
    event_types     TEXT,
    secret          TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    cursor          BIGINT NOT NULL,
    failing_since   TIMESTAMP,
    failures        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP,
    lease_owner     TEXT,
    lease_until     TIMESTAMP
);
CREATE INDEX webhooks_account ON webhooks (account_id, created_at);

-- Every attempt to deliver an event to a webhook.
CREATE TABLE webhook_deliveries (
    id            TEXT PRIMARY KEY,
    webhook_id    TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id      TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    event_pos     BIGINT NOT NULL,
    attempt       INTEGER NOT NULL,
    attempted_at  TIMESTAMP NOT NULL,
    duration_ms   INTEGER NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    delivered     BOOLEAN NOT NULL,
    next_retry_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, attempted_at);
-- The pruning of old attempts reads them oldest first.
CREATE INDEX webhook_deliveries_attempted ON webhook_deliveries (attempted_at);
