DROP TABLE group_children;
