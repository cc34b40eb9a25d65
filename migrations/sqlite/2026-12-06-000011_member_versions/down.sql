DROP TRIGGER member_counts_email;
DROP TRIGGER member_counts_add;
DROP TRIGGER member_counts_remove;
CREATE TRIGGER member_counts_add AFTER INSERT ON memberships BEGIN
    INSERT INTO member_counts (group_id, slot, n) VALUES (NEW.group_id, 0, 1)
        ON CONFLICT (group_id, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER member_counts_remove AFTER DELETE ON memberships BEGIN
    UPDATE member_counts SET n = n - 1 WHERE group_id = OLD.group_id AND slot = 0;
END;
ALTER TABLE member_counts DROP COLUMN version;
