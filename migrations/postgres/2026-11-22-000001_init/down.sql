DROP TABLE settings;
DROP TABLE memberships;
DROP TABLE group_permissions;
DROP TABLE groups;
DROP TABLE users;
DROP TABLE accounts;
