//! What a write changed. Every mutation of the database layer reports its
//! changes as it makes them (cascades included), and the service hands them,
//! inside the transaction, to its change observers.

use super::{AccountId, ApiKeyId, GroupId, UserId};

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
}

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
        }
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
            | Self::PasswordChanged { account, .. } => *account,
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
}

impl Principal {
    pub fn is(&self, user: UserId) -> bool {
        self.user == user
    }
}
