ALTER TABLE groups DROP COLUMN custom;
ALTER TABLE users DROP COLUMN password_reset_required;
ALTER TABLE users DROP COLUMN opt_out_of_notifications;
ALTER TABLE users DROP COLUMN custom;
ALTER TABLE users DROP COLUMN avatar_url;
ALTER TABLE users DROP COLUMN language;
ALTER TABLE users DROP COLUMN timezone;
