-- The vendor's user and group models (README, "The management surface's
-- models"): profile fields, a free JSON object per user and group (stored
-- as its JSON text), and whether a password must be changed.
ALTER TABLE users ADD COLUMN timezone TEXT;
ALTER TABLE users ADD COLUMN language TEXT;
ALTER TABLE users ADD COLUMN avatar_url TEXT;
ALTER TABLE users ADD COLUMN custom TEXT;
ALTER TABLE users ADD COLUMN opt_out_of_notifications BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_reset_required BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN custom TEXT;
