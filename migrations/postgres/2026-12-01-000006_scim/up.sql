-- SCIM 2.0 (README, "SCIM 2.0"): the attributes of RFC 7643's User and
-- Group that Rollcall stores beyond its own (each echoed back as stored),
-- and which API keys an identity provider may send directly as its bearer
-- token (purpose 'scim'; 'general' keys are exchanged for tokens only).
-- userName is its own column: SCIM's are often UPNs or opaque ids, which
-- Rollcall usernames (no '@', not UUID-shaped) cannot hold.
ALTER TABLE users ADD COLUMN scim_user_name TEXT;
ALTER TABLE users ADD COLUMN scim_user_name_key TEXT;
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN display_name_key TEXT;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN email_type TEXT;
ALTER TABLE users ADD COLUMN email_primary BOOLEAN;
ALTER TABLE groups ADD COLUMN external_id TEXT;
-- Likewise a displayName that Rollcall group names cannot be (UUID-shaped):
-- the group is then named '<displayName> (SCIM)'.
ALTER TABLE groups ADD COLUMN scim_display_name TEXT;
ALTER TABLE groups ADD COLUMN scim_display_name_key TEXT;
CREATE UNIQUE INDEX groups_account_scim_display_name_key ON groups (account_id, scim_display_name_key);
ALTER TABLE api_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT 'general';
CREATE UNIQUE INDEX users_account_scim_user_name_key ON users (account_id, scim_user_name_key);
-- Identity providers look resources up by externalId.
CREATE INDEX users_account_external_id ON users (account_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_account_external_id ON groups (account_id, external_id) WHERE external_id IS NOT NULL;
