DROP INDEX users_deleted;
DROP TABLE group_children;
