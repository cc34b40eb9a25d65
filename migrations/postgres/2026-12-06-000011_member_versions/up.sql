-- A version of each group's members, beside its count: every change of a
-- membership gives the slot it counts in a new random version, and every
-- change of a member's email each slot of the member's groups, in the same
-- transaction, so the sum of a group's versions changes with its members
-- and their order, and a server can keep where the pages of a large group
-- begin (the default order: email) and know from the one read it makes for
-- the total whether that copy is current, on every instance.
-- Random, never a counter: a rolled-back change or a copied database can
-- never bring back a version that named other members. 31 bits a slot.
ALTER TABLE member_counts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
UPDATE member_counts SET version = floor(random() * 2147483647)::bigint;

CREATE OR REPLACE FUNCTION member_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_counts (group_id, slot, n, version)
        SELECT group_id, pg_backend_pid() % 8, count(*), floor(random() * 2147483647)::bigint
        FROM added GROUP BY group_id ORDER BY group_id
        ON CONFLICT (group_id, slot) DO UPDATE SET n = member_counts.n + EXCLUDED.n, version = EXCLUDED.version;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION member_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_counts (group_id, slot, n, version)
        SELECT group_id, pg_backend_pid() % 8, -count(*), floor(random() * 2147483647)::bigint
        FROM removed GROUP BY group_id ORDER BY group_id
        ON CONFLICT (group_id, slot) DO UPDATE SET n = member_counts.n + EXCLUDED.n, version = EXCLUDED.version;
    RETURN NULL;
END $$;
CREATE FUNCTION member_counts_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE member_counts SET version = floor(random() * 2147483647)::bigint
        WHERE group_id IN (SELECT group_id FROM memberships WHERE user_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER member_counts_email AFTER UPDATE OF email_key ON users
    FOR EACH ROW WHEN (OLD.email_key IS DISTINCT FROM NEW.email_key) EXECUTE FUNCTION member_counts_email();
