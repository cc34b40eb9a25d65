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
        password_hash -> Nullable<Text>,
        password_changed_at -> Nullable<Timestamp>,
        password_expirable -> Bool,
        suspended -> Bool,
        failed_sign_ins -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_sign_in_at -> Nullable<Timestamp>,
        auth_epoch -> Integer,
        timezone -> Nullable<Text>,
        language -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        custom -> Nullable<Text>,
        opt_out_of_notifications -> Bool,
        password_reset_required -> Bool,
        scim_user_name -> Nullable<Text>,
        scim_user_name_key -> Nullable<Text>,
        display_name -> Nullable<Text>,
        display_name_key -> Nullable<Text>,
        external_id -> Nullable<Text>,
        email_type -> Nullable<Text>,
        email_primary -> Nullable<Bool>,
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
        custom -> Nullable<Text>,
        external_id -> Nullable<Text>,
        scim_display_name -> Nullable<Text>,
        scim_display_name_key -> Nullable<Text>,
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
    /// Kept by triggers on `memberships` (migrations 000009 and 000011);
    /// a group's member count is the sum of its rows' `n`, and the sum of
    /// their random `version`s changes with every change of its members.
    member_counts (group_id, slot) {
        group_id -> Text,
        slot -> SmallInt,
        n -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    /// A random version of each account's hierarchy (edges and grants),
    /// changed by triggers with every change of either.
    hierarchy_versions (account_id) {
        account_id -> Text,
        version -> Text,
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
    api_keys (id) {
        id -> Text,
        account_id -> Text,
        user_id -> Text,
        name -> Text,
        secret_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        purpose -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        account_id -> Text,
        user_id -> Text,
        refresh_hash -> Text,
        created_at -> Timestamp,
        refreshed_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        pos -> Nullable<BigInt>,
        account_id -> Text,
        #[sql_name = "type"]
        kind -> Text,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<Text>,
        actor_key_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        group_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        child_group_id -> Nullable<Text>,
        api_key_id -> Nullable<Text>,
        webhook_id -> Nullable<Text>,
        fields -> Nullable<Text>,
        users -> Nullable<Text>,
        groups -> Nullable<Text>,
        requests -> Nullable<Text>,
        n -> Integer,
    }
}

diesel::table! {
    event_head (id) {
        id -> Integer,
        last -> BigInt,
    }
}

diesel::table! {
    event_retention (account_id) {
        account_id -> Text,
        pruned_through -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        account_id -> Text,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Nullable<Text>,
        secret -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cursor -> BigInt,
        failing_since -> Nullable<Timestamp>,
        failures -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        event_pos -> BigInt,
        attempt -> Integer,
        attempted_at -> Timestamp,
        duration_ms -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        delivered -> Bool,
        next_retry_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(groups -> accounts (account_id));
diesel::joinable!(group_permissions -> groups (group_id));
diesel::joinable!(memberships -> groups (group_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    users,
    groups,
    group_permissions,
    memberships,
    group_children,
    hierarchy_versions,
    settings,
    api_keys,
    sessions,
    events,
    event_head,
    event_retention,
    webhooks,
    webhook_deliveries,
);
