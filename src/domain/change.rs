//! What a write changed. Every mutation of the database layer reports its
//! changes as it makes them (cascades included), and the service hands them,
//! inside the transaction, to its change observers.

use super::{AccountId, ApiKeyId, GroupId, UserId, WebhookId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    AccountCreated {
        account: AccountId,
    },
    UserCreated {
        account: AccountId,
        user: UserId,
    },
    /// `fields` names what the update set (in the core's own names).
    UserUpdated {
        account: AccountId,
        user: UserId,
        fields: Vec<&'static str>,
    },
    UserDeleted {
        account: AccountId,
        user: UserId,
    },
    GroupCreated {
        account: AccountId,
        group: GroupId,
    },
    GroupUpdated {
        account: AccountId,
        group: GroupId,
        fields: Vec<&'static str>,
    },
    GroupDeleted {
        account: AccountId,
        group: GroupId,
    },
    MembershipAdded {
        account: AccountId,
        group: GroupId,
        user: UserId,
    },
    MembershipRemoved {
        account: AccountId,
        group: GroupId,
        user: UserId,
    },
    GroupNested {
        account: AccountId,
        parent: GroupId,
        child: GroupId,
    },
    GroupUnnested {
        account: AccountId,
        parent: GroupId,
        child: GroupId,
    },
    ApiKeyCreated {
        account: AccountId,
        user: UserId,
        key: ApiKeyId,
    },
    ApiKeyRevoked {
        account: AccountId,
        user: UserId,
        key: ApiKeyId,
    },
    /// Locked after too many failed password sign-ins.
    UserLocked {
        account: AccountId,
        user: UserId,
    },
    UserUnlocked {
        account: AccountId,
        user: UserId,
    },
    UserSuspended {
        account: AccountId,
        user: UserId,
    },
    UserUnsuspended {
        account: AccountId,
        user: UserId,
    },
    /// A new password (never the password itself).
    PasswordChanged {
        account: AccountId,
        user: UserId,
    },
    WebhookCreated {
        account: AccountId,
        webhook: WebhookId,
    },
    WebhookUpdated {
        account: AccountId,
        webhook: WebhookId,
        fields: Vec<&'static str>,
    },
    WebhookDeleted {
        account: AccountId,
        webhook: WebhookId,
    },
    /// Disabled after failing for longer than the retry window.
    WebhookDisabled {
        account: AccountId,
        webhook: WebhookId,
    },
}

/// The ids a change is about, and the fields an update set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subjects {
    pub group: Option<GroupId>,
    pub user: Option<UserId>,
    pub child_group: Option<GroupId>,
    pub api_key: Option<ApiKeyId>,
    pub webhook: Option<WebhookId>,
    pub fields: Option<Vec<&'static str>>,
}

/// Every kind of change, by its stable name (what `type` filters and
/// webhook `event_types` may name).
pub const KINDS: [&str; 22] = [
    "account.created",
    "user.created",
    "user.updated",
    "user.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "membership.added",
    "membership.removed",
    "group.nested",
    "group.unnested",
    "api_key.created",
    "api_key.revoked",
    "user.locked",
    "user.unlocked",
    "user.suspended",
    "user.unsuspended",
    "user.password_changed",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.disabled",
];

impl Change {
    /// The stable name of the kind of change (`membership.added`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AccountCreated { .. } => "account.created",
            Self::UserCreated { .. } => "user.created",
            Self::UserUpdated { .. } => "user.updated",
            Self::UserDeleted { .. } => "user.deleted",
            Self::GroupCreated { .. } => "group.created",
            Self::GroupUpdated { .. } => "group.updated",
            Self::GroupDeleted { .. } => "group.deleted",
            Self::MembershipAdded { .. } => "membership.added",
            Self::MembershipRemoved { .. } => "membership.removed",
            Self::GroupNested { .. } => "group.nested",
            Self::GroupUnnested { .. } => "group.unnested",
            Self::ApiKeyCreated { .. } => "api_key.created",
            Self::ApiKeyRevoked { .. } => "api_key.revoked",
            Self::UserLocked { .. } => "user.locked",
            Self::UserUnlocked { .. } => "user.unlocked",
            Self::UserSuspended { .. } => "user.suspended",
            Self::UserUnsuspended { .. } => "user.unsuspended",
            Self::PasswordChanged { .. } => "user.password_changed",
            Self::WebhookCreated { .. } => "webhook.created",
            Self::WebhookUpdated { .. } => "webhook.updated",
            Self::WebhookDeleted { .. } => "webhook.deleted",
            Self::WebhookDisabled { .. } => "webhook.disabled",
        }
    }

    /// What the change is about, as the change feed records it.
    pub fn subjects(&self) -> Subjects {
        let mut s = Subjects::default();
        match self {
            Self::AccountCreated { .. } => {}
            Self::UserCreated { user, .. }
            | Self::UserDeleted { user, .. }
            | Self::UserLocked { user, .. }
            | Self::UserUnlocked { user, .. }
            | Self::UserSuspended { user, .. }
            | Self::UserUnsuspended { user, .. }
            | Self::PasswordChanged { user, .. } => s.user = Some(*user),
            Self::UserUpdated { user, fields, .. } => {
                s.user = Some(*user);
                s.fields = Some(fields.clone());
            }
            Self::GroupCreated { group, .. } | Self::GroupDeleted { group, .. } => s.group = Some(*group),
            Self::GroupUpdated { group, fields, .. } => {
                s.group = Some(*group);
                s.fields = Some(fields.clone());
            }
            Self::MembershipAdded { group, user, .. } | Self::MembershipRemoved { group, user, .. } => {
                s.group = Some(*group);
                s.user = Some(*user);
            }
            Self::GroupNested { parent, child, .. } | Self::GroupUnnested { parent, child, .. } => {
                s.group = Some(*parent);
                s.child_group = Some(*child);
            }
            Self::ApiKeyCreated { user, key, .. } | Self::ApiKeyRevoked { user, key, .. } => {
                s.user = Some(*user);
                s.api_key = Some(*key);
            }
            Self::WebhookCreated { webhook, .. } | Self::WebhookDeleted { webhook, .. } | Self::WebhookDisabled { webhook, .. } => {
                s.webhook = Some(*webhook)
            }
            Self::WebhookUpdated { webhook, fields, .. } => {
                s.webhook = Some(*webhook);
                s.fields = Some(fields.clone());
            }
        }
        s
    }

    pub fn account(&self) -> AccountId {
        match self {
            Self::AccountCreated { account }
            | Self::UserCreated { account, .. }
            | Self::UserUpdated { account, .. }
            | Self::UserDeleted { account, .. }
            | Self::GroupCreated { account, .. }
            | Self::GroupUpdated { account, .. }
            | Self::GroupDeleted { account, .. }
            | Self::MembershipAdded { account, .. }
            | Self::MembershipRemoved { account, .. }
            | Self::GroupNested { account, .. }
            | Self::GroupUnnested { account, .. }
            | Self::ApiKeyCreated { account, .. }
            | Self::ApiKeyRevoked { account, .. }
            | Self::UserLocked { account, .. }
            | Self::UserUnlocked { account, .. }
            | Self::UserSuspended { account, .. }
            | Self::UserUnsuspended { account, .. }
            | Self::PasswordChanged { account, .. }
            | Self::WebhookCreated { account, .. }
            | Self::WebhookUpdated { account, .. }
            | Self::WebhookDeleted { account, .. }
            | Self::WebhookDisabled { account, .. } => *account,
        }
    }
}

/// The authenticated caller of a use case: a user of an account. Who may
/// do what follows from it (`engine::access`); how a surface learned it
/// (a token, a key) is not the core's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub account: AccountId,
    /// The API key the caller signed in with, if any (recorded as the actor
    /// of the changes it makes; it grants nothing by itself).
    pub key: Option<ApiKeyId>,
}

impl Principal {
    pub fn new(user: UserId, account: AccountId) -> Self {
        Self { user, account, key: None }
    }

    pub fn is(&self, user: UserId) -> bool {
        self.user == user
    }
}
