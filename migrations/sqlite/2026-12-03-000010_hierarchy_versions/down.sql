DROP TRIGGER hierarchy_group_renamed;
DROP TRIGGER hierarchy_grant_removed;
DROP TRIGGER hierarchy_grant_added;
DROP TRIGGER hierarchy_edge_changed;
DROP TRIGGER hierarchy_edge_removed;
DROP TRIGGER hierarchy_edge_added;
DROP TABLE hierarchy_versions;
