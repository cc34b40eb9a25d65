-- A version of each account's hierarchy (its nesting edges, what its groups
-- grant and their names), changed by triggers in the transaction of every change so
-- that no write path can miss it. A server keeps an account's hierarchy in
-- memory and reads this one row to know whether its copy is current, on
-- every instance. A version is random, never a counter: a rolled-back change
-- or a copied database can never bring back a version that named other
-- edges. One update per statement and account (transition tables).
CREATE TABLE hierarchy_versions (
    account_id TEXT PRIMARY KEY NOT NULL,
    version    TEXT NOT NULL
);
INSERT INTO hierarchy_versions (account_id, version)
    SELECT account_id, gen_random_uuid()::text FROM (SELECT DISTINCT account_id FROM group_children) a;

CREATE FUNCTION hierarchy_edges_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hierarchy_versions (account_id, version)
        SELECT account_id, gen_random_uuid()::text FROM (SELECT DISTINCT account_id FROM changed) a ORDER BY account_id
        ON CONFLICT (account_id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END $$;
-- A grant's group is gone when a group's deletion cascades to its grants;
-- its edges went too, which changed the version.
CREATE FUNCTION hierarchy_grants_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hierarchy_versions (account_id, version)
        SELECT account_id, gen_random_uuid()::text
        FROM (SELECT DISTINCT g.account_id FROM changed c JOIN groups g ON g.id = c.group_id) a ORDER BY account_id
        ON CONFLICT (account_id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END $$;
CREATE TRIGGER hierarchy_edges_added AFTER INSERT ON group_children
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION hierarchy_edges_changed();
CREATE TRIGGER hierarchy_edges_removed AFTER DELETE ON group_children
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION hierarchy_edges_changed();
CREATE TRIGGER hierarchy_edges_updated_old AFTER UPDATE ON group_children
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION hierarchy_edges_changed();
CREATE TRIGGER hierarchy_edges_updated_new AFTER UPDATE ON group_children
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION hierarchy_edges_changed();
CREATE TRIGGER hierarchy_grants_added AFTER INSERT ON group_permissions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION hierarchy_grants_changed();
CREATE TRIGGER hierarchy_grants_removed AFTER DELETE ON group_permissions
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION hierarchy_grants_changed();
-- Listings in name order are picked from the names the copy holds. Any
-- rename changes the version: a group renamed while another transaction
-- nests it must not leave its old name in a copy.
CREATE FUNCTION hierarchy_group_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hierarchy_versions (account_id, version) VALUES (NEW.account_id, gen_random_uuid()::text)
        ON CONFLICT (account_id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END $$;
CREATE TRIGGER hierarchy_group_renamed AFTER UPDATE OF name_key ON groups
    FOR EACH ROW WHEN (OLD.name_key IS DISTINCT FROM NEW.name_key) EXECUTE FUNCTION hierarchy_group_renamed();
