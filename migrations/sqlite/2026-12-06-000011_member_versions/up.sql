-- A version of each group's members, beside its count: every change of a
-- membership, and every change of a member's email, gives the group's
-- counter rows a new random version in the same transaction, so the sum of
-- a group's versions changes with its members and their order, and a
-- server can keep where the pages of a large group begin (the default
-- order: email) and know from the one read it makes for the total whether
-- that copy is current, on every instance.
-- Random, never a counter: a rolled-back change or a copied database can
-- never bring back a version that named other members. 31 bits a row, so
-- the sum of a group's rows cannot overflow.
ALTER TABLE member_counts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE member_counts SET version = abs(random() % 2147483647);

DROP TRIGGER member_counts_add;
DROP TRIGGER member_counts_remove;
CREATE TRIGGER member_counts_add AFTER INSERT ON memberships BEGIN
    INSERT INTO member_counts (group_id, slot, n, version) VALUES (NEW.group_id, 0, 1, abs(random() % 2147483647))
        ON CONFLICT (group_id, slot) DO UPDATE SET n = n + 1, version = excluded.version;
END;
CREATE TRIGGER member_counts_remove AFTER DELETE ON memberships BEGIN
    UPDATE member_counts SET n = n - 1, version = abs(random() % 2147483647) WHERE group_id = OLD.group_id AND slot = 0;
END;
CREATE TRIGGER member_counts_email AFTER UPDATE OF email_key ON users WHEN OLD.email_key IS NOT NEW.email_key BEGIN
    UPDATE member_counts SET version = abs(random() % 2147483647)
        WHERE group_id IN (SELECT group_id FROM memberships WHERE user_id = NEW.id);
END;
