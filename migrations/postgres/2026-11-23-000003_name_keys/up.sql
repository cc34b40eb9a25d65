-- One Unicode policy for names (PRODUCT.md, "Names"): every *_key column
-- holds the NFKC_Casefold key of its column, computed by the server. These
-- two let first and last names be searched by the same key. The keys of rows
-- written before this migration are recomputed at the next start (the
-- server's name-key pass, recorded in settings as `name_keys`).
ALTER TABLE users ADD COLUMN first_name_key TEXT;
ALTER TABLE users ADD COLUMN last_name_key TEXT;
DELETE FROM settings WHERE key = 'name_keys';
