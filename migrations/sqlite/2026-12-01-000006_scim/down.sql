DROP INDEX groups_account_external_id;
DROP INDEX users_account_external_id;
ALTER TABLE api_keys DROP COLUMN purpose;
ALTER TABLE groups DROP COLUMN external_id;
ALTER TABLE users DROP COLUMN email_primary;
ALTER TABLE users DROP COLUMN email_type;
ALTER TABLE users DROP COLUMN external_id;
ALTER TABLE users DROP COLUMN display_name_key;
ALTER TABLE users DROP COLUMN display_name;
