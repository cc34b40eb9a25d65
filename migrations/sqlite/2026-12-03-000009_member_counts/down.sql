DROP TRIGGER member_counts_drop;
DROP TRIGGER member_counts_remove;
DROP TRIGGER member_counts_add;
DROP TABLE member_counts;
