ALTER TABLE users DROP COLUMN first_name_key;
ALTER TABLE users DROP COLUMN last_name_key;
DELETE FROM settings WHERE key = 'name_keys';
