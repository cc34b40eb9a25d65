DROP TRIGGER hierarchy_grants_removed ON group_permissions;
DROP TRIGGER hierarchy_grants_added ON group_permissions;
DROP TRIGGER hierarchy_edges_updated_new ON group_children;
DROP TRIGGER hierarchy_edges_updated_old ON group_children;
DROP TRIGGER hierarchy_edges_removed ON group_children;
DROP TRIGGER hierarchy_edges_added ON group_children;
DROP FUNCTION hierarchy_grants_changed();
DROP FUNCTION hierarchy_edges_changed();
DROP TABLE hierarchy_versions;
