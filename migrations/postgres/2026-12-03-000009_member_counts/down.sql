DROP TRIGGER member_counts_drop ON groups;
DROP TRIGGER member_counts_remove ON memberships;
DROP TRIGGER member_counts_add ON memberships;
DROP FUNCTION member_counts_drop();
DROP FUNCTION member_counts_remove();
DROP FUNCTION member_counts_add();
DROP TABLE member_counts;
