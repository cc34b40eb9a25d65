-- Sign-in (README, "Signing in"): passwords, API keys and password-grant
-- sessions. Secrets are never stored: passwords as Argon2id PHC strings, key
-- and refresh-token secrets (256 random bits) as their SHA-256.
--
-- auth_epoch is signed into every token; suspending or deleting a user bumps
-- it, so each token issued before is refused on its next request.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMP;
ALTER TABLE users ADD COLUMN password_expirable BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN suspended BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_sign_ins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMP;
ALTER TABLE users ADD COLUMN auth_epoch INTEGER NOT NULL DEFAULT 0;

-- Client credentials: client_id is the id, client_secret the secret.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_keys_account_user ON api_keys (account_id, user_id);

-- One row per password sign-in: its tokens carry the id, its refresh token
-- (rotated at each use) is stored as a hash.
CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (id),
    user_id            TEXT NOT NULL REFERENCES users (id),
    refresh_hash       TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    refreshed_at       TIMESTAMP NOT NULL,
    expires_at         TIMESTAMP NOT NULL,
    revoked_at         TIMESTAMP
);
CREATE INDEX sessions_user ON sessions (user_id);

-- The account a password sign-in at the root looks usernames up in: the
-- first one created (new databases record it when it is made).
INSERT INTO settings (key, value)
SELECT 'default_account', id FROM accounts ORDER BY created_at, id LIMIT 1;
