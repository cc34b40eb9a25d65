// @generated-style diesel schema, kept identical for SQLite and PostgreSQL
// (see migrations/): ids are UUID text, timestamps are naive UTC.

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        account_id -> Text,
        email -> Text,
        email_key -> Text,
        username -> Nullable<Text>,
        username_key -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        first_name_key -> Nullable<Text>,
        last_name_key -> Nullable<Text>,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        name_key -> Text,
        description -> Text,
        is_system -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    group_permissions (group_id, permission) {
        group_id -> Text,
        permission -> Text,
    }
}

diesel::table! {
    memberships (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_children (parent_id, child_id) {
        account_id -> Text,
        parent_id -> Text,
        child_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(groups -> accounts (account_id));
diesel::joinable!(group_permissions -> groups (group_id));
diesel::joinable!(memberships -> groups (group_id));
diesel::joinable!(memberships -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(accounts, users, groups, group_permissions, memberships, group_children, settings,);
