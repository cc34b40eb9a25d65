-- Nested groups: members of a child group are (inherited) members of every
-- ancestor and hold the ancestors' permissions. The account id is repeated
-- so one account's edges load with one indexed query.
CREATE TABLE group_children (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    parent_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    child_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX group_children_account ON group_children (account_id);
CREATE INDEX group_children_child ON group_children (child_id);

-- Deleted users are few: counting a group's live members subtracts them,
-- found through this partial index.
CREATE INDEX users_deleted ON users (deleted_at) WHERE deleted_at IS NOT NULL;
