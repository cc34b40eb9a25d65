DROP TRIGGER member_counts_email ON users;
DROP FUNCTION member_counts_email();
CREATE OR REPLACE FUNCTION member_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_counts (group_id, slot, n)
        SELECT group_id, pg_backend_pid() % 8, count(*) FROM added GROUP BY group_id ORDER BY group_id
        ON CONFLICT (group_id, slot) DO UPDATE SET n = member_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION member_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_counts (group_id, slot, n)
        SELECT group_id, pg_backend_pid() % 8, -count(*) FROM removed GROUP BY group_id ORDER BY group_id
        ON CONFLICT (group_id, slot) DO UPDATE SET n = member_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
ALTER TABLE member_counts DROP COLUMN version;
