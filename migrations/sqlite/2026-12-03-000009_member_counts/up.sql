-- How many members each group has, kept by triggers on `memberships` so
-- that no write path can miss it: a member listing's total is one row read
-- instead of a count over the group's memberships. Deleting a user deletes
-- their memberships, so every membership is of a live user.
CREATE TABLE member_counts (
    group_id TEXT NOT NULL,
    slot     INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (group_id, slot)
);
INSERT INTO member_counts (group_id, slot, n) SELECT group_id, 0, count(*) FROM memberships GROUP BY group_id;

CREATE TRIGGER member_counts_add AFTER INSERT ON memberships BEGIN
    INSERT INTO member_counts (group_id, slot, n) VALUES (NEW.group_id, 0, 1)
        ON CONFLICT (group_id, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER member_counts_remove AFTER DELETE ON memberships BEGIN
    UPDATE member_counts SET n = n - 1 WHERE group_id = OLD.group_id AND slot = 0;
END;
CREATE TRIGGER member_counts_drop AFTER DELETE ON groups BEGIN
    DELETE FROM member_counts WHERE group_id = OLD.id;
END;
