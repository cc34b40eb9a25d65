-- A version of each account's hierarchy (its nesting edges, what its groups
-- grant and their names), changed by triggers in the transaction of every change so
-- that no write path can miss it. A server keeps an account's hierarchy in
-- memory and reads this one row to know whether its copy is current, on
-- every instance. A version is random, never a counter: a rolled-back change
-- or a copied database can never bring back a version that named other
-- edges.
CREATE TABLE hierarchy_versions (
    account_id TEXT PRIMARY KEY NOT NULL,
    version    TEXT NOT NULL
);
INSERT INTO hierarchy_versions (account_id, version)
    SELECT account_id, lower(hex(randomblob(16))) FROM (SELECT DISTINCT account_id FROM group_children);

CREATE TRIGGER hierarchy_edge_added AFTER INSERT ON group_children BEGIN
    INSERT INTO hierarchy_versions (account_id, version) VALUES (NEW.account_id, lower(hex(randomblob(16))))
        ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER hierarchy_edge_removed AFTER DELETE ON group_children BEGIN
    INSERT INTO hierarchy_versions (account_id, version) VALUES (OLD.account_id, lower(hex(randomblob(16))))
        ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER hierarchy_edge_changed AFTER UPDATE ON group_children BEGIN
    INSERT INTO hierarchy_versions (account_id, version) VALUES (NEW.account_id, lower(hex(randomblob(16))))
        ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
    INSERT INTO hierarchy_versions (account_id, version) VALUES (OLD.account_id, lower(hex(randomblob(16))))
        ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
END;
-- A grant's group is gone when a group's deletion cascades to its grants;
-- its edges went too, which changed the version.
CREATE TRIGGER hierarchy_grant_added AFTER INSERT ON group_permissions BEGIN
    INSERT INTO hierarchy_versions (account_id, version)
        SELECT account_id, lower(hex(randomblob(16))) FROM groups WHERE id = NEW.group_id
        ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
END;
CREATE TRIGGER hierarchy_grant_removed AFTER DELETE ON group_permissions BEGIN
    INSERT INTO hierarchy_versions (account_id, version)
        SELECT account_id, lower(hex(randomblob(16))) FROM groups WHERE id = OLD.group_id
        ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
END;
-- Listings in name order are picked from the names the copy holds. Any
-- rename changes the version: a group renamed while another transaction
-- nests it must not leave its old name in a copy.
CREATE TRIGGER hierarchy_group_renamed AFTER UPDATE OF name_key ON groups WHEN NEW.name_key IS NOT OLD.name_key BEGIN
    INSERT INTO hierarchy_versions (account_id, version) VALUES (NEW.account_id, lower(hex(randomblob(16))))
        ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
END;
