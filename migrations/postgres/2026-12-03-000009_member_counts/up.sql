-- How many members each group has, kept by triggers on `memberships` so
-- that no write path can miss it: a member listing's total is a sum over a
-- few rows instead of a count over the group's memberships. Deleting a
-- user deletes their memberships, so every membership is of a live user.
--
-- A group's count is spread over up to 8 slots (the writer's backend
-- process id picks one), so that concurrent writers to one group do not
-- all wait on one row until they commit. One update per statement and
-- group (transition tables), in group order.
CREATE TABLE member_counts (
    group_id TEXT NOT NULL,
    slot     SMALLINT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (group_id, slot)
);
INSERT INTO member_counts (group_id, slot, n) SELECT group_id, 0, count(*) FROM memberships GROUP BY group_id;

CREATE FUNCTION member_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_counts (group_id, slot, n)
        SELECT group_id, pg_backend_pid() % 8, count(*) FROM added GROUP BY group_id ORDER BY group_id
        ON CONFLICT (group_id, slot) DO UPDATE SET n = member_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE FUNCTION member_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_counts (group_id, slot, n)
        SELECT group_id, pg_backend_pid() % 8, -count(*) FROM removed GROUP BY group_id ORDER BY group_id
        ON CONFLICT (group_id, slot) DO UPDATE SET n = member_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE FUNCTION member_counts_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM member_counts WHERE group_id IN (SELECT id FROM dropped);
    RETURN NULL;
END $$;
CREATE TRIGGER member_counts_add AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION member_counts_add();
CREATE TRIGGER member_counts_remove AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION member_counts_remove();
-- Runs after the cascade that deleted the group's memberships (foreign key
-- actions fire first), so it removes what that cascade's trigger wrote.
CREATE TRIGGER member_counts_drop AFTER DELETE ON groups
    REFERENCING OLD TABLE AS dropped FOR EACH STATEMENT EXECUTE FUNCTION member_counts_drop();
