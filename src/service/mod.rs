//! The service API: every use case is one async call that takes the
//! principal and parsed values, checks its own permission (in the engine),
//! runs in the transaction mode its signature names, and reports every
//! change it made to the change observers.
//!
//! `read` hands the engine a [`Read`]; `write` a [`Write`], inside one write
//! transaction (through group commit on SQLite), and only `Write` offers
//! mutations, so a use case that writes cannot be routed down the read
//! path. Before the transaction commits, each observer sees the changes
//! ([`Observe::in_transaction`], where a change feed writes its rows); once
//! the commit is durable, it hears of them again ([`Observe::committed`]).

mod batch;
mod observe;

use std::sync::Arc;

pub use observe::{Observe, Observers};

use crate::config::FeedConfig;
use crate::credentials::{Hasher, Password};
use crate::db::accounts::Account;
use crate::db::api_keys::ApiKey;
use crate::db::users::{User, UserFilter};
use crate::db::webhooks::{Delivery, Webhook};
use crate::db::{Pool, Read, Write, WriteContext};
use crate::domain::scim::patch::Operation as ScimOperation;
use crate::domain::scim::{ScimGroup, ScimUser};
use crate::domain::{
    AccountId, ApiKeyId, GroupDescription, GroupIdentifier, GroupName, GroupSort, Page, Permission, Principal, Search, SessionId, Sort,
    UserId, UserIdList, UserIdentifier, UserSort, WebhookId,
};
use crate::engine::api_keys::NewApiKey;
use crate::engine::api_keys::{KeyDraft, KeyPurpose};
use crate::engine::groups::{GroupPage, GroupPatch, GroupView, Selection};
use crate::engine::members::{MemberPage, MemberQuery};
use crate::engine::sign_in::{self, Grant, SignInPolicy};
use crate::engine::user_status::{self, UserAction};
use crate::engine::users::{UserDraft, UserPage, UserPatch};
use crate::engine::webhooks::WebhookDraft;
use crate::engine::{access, accounts, api_keys, groups, hierarchy, members, now, scim, users, webhooks};
use crate::error::Error;
use crate::tokens::{Credential, TokenKeys};

/// The core behind every surface and the command line; cheap to clone.
#[derive(Clone)]
pub struct Service {
    pool: Pool,
    observers: Arc<Observers>,
    keys: TokenKeys,
    hasher: Hasher,
    policy: SignInPolicy,
    feed: Arc<FeedConfig>,
    signals: crate::feed::Signals,
    /// Single adds, coalesced ([`batch`]); started at the first.
    adds: Arc<std::sync::OnceLock<Option<batch::Adds>>>,
    /// Token checks, coalesced ([`batch`]); started at the first.
    checks: Arc<std::sync::OnceLock<Option<batch::Checks>>>,
    /// Creations of users and groups, coalesced ([`batch`]); started at the first.
    creations: Arc<std::sync::OnceLock<Option<batch::Creations>>>,
}

/// An issued access token, as the token endpoints answer it.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub principal: Principal,
}

impl Service {
    pub fn new(pool: Pool, observers: Observers, keys: TokenKeys) -> Self {
        Self {
            pool,
            observers: Arc::new(observers),
            keys,
            hasher: Hasher::default(),
            policy: SignInPolicy::default(),
            feed: Arc::new(FeedConfig::default()),
            signals: crate::feed::Signals::default(),
            adds: Arc::default(),
            checks: Arc::default(),
            creations: Arc::default(),
        }
    }

    /// The feed's settings, and the signals its observer raises.
    pub fn with_feed(mut self, feed: FeedConfig, signals: crate::feed::Signals) -> Self {
        self.feed = Arc::new(feed);
        self.signals = signals;
        self
    }

    pub fn feed_config(&self) -> &FeedConfig {
        &self.feed
    }

    pub fn feed_signals(&self) -> &crate::feed::Signals {
        &self.signals
    }

    pub fn with_policy(mut self, policy: SignInPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `f` on a connection for queries.
    async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Read) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.pool.run(move |conn| f(&mut Read::new(conn))).await
    }

    /// Runs `f` in one write transaction (rerun whole on a transient
    /// conflict), hands its changes to the observers inside it, and again
    /// once the commit is durable.
    ///
    /// `actor` is who the changes are recorded as made by (none: the system);
    /// the request id is the current request's, if any.
    async fn write<T, F>(&self, actor: Option<Principal>, f: F) -> Result<T, Error>
    where
        F: FnMut(&mut Write) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let mut f = f;
        let observers = self.observers.clone();
        let context = WriteContext { actor, request_id: crate::observe::current_request_id() };
        let (value, changes) = self
            .pool
            .write(move |conn| {
                conn.write(|conn| {
                    let mut w = Write::within_transaction(conn, context.clone());
                    let value = f(&mut w)?;
                    observers.in_transaction(&mut w)?;
                    Ok((value, w.into_changes()))
                })
            })
            .await?;
        self.observers.committed(&changes);
        Ok(value)
    }

    // Signing in.

    /// The principal a bearer token names, if the token is validly signed,
    /// unexpired, and its user, key and session still allow it (checked in
    /// the database on every call, so a revocation bites at once on every
    /// instance).
    pub async fn authenticate(&self, token: &str) -> Result<Credential, Error> {
        let credential = self.keys.verify(token)?;
        self.check_credential(credential).await?;
        Ok(credential)
    }

    /// What a validly signed, unexpired token claims, not yet checked in the
    /// database: a use case that takes it makes [`Service::check_credential`]'s
    /// check itself.
    pub fn verify_token(&self, token: &str) -> Result<Credential, Error> {
        self.keys.verify(token)
    }

    /// Whether the credential's user, key and session still allow it.
    pub async fn check_credential(&self, credential: Credential) -> Result<(), Error> {
        let checks = batch::started(&self.checks, "token checks run one read each", || batch::Checks::start(self.pool.clone()));
        if let Some(checks) = checks {
            if let Some(verdict) = checks.check(credential).await {
                return verdict.map(drop);
            }
        }
        self.read(move |r| sign_in::check_credential(r, &credential, now())).await.map(drop)
    }

    /// The principal of a `scim` API key sent as it is as the bearer token
    /// (the SCIM surface only), checked in the database on every call.
    pub async fn authenticate_key(&self, secret: &str) -> Result<Credential, Error> {
        let secret = secret.to_owned();
        self.read(move |r| sign_in::check_direct_key(r, &secret, now())).await
    }

    fn issue(&self, grant: Grant) -> Result<IssuedToken, Error> {
        let expires_at = grant.expires_at.and_utc().timestamp();
        let access_token = self.keys.issue_for(&grant.credential, expires_at)?;
        let expires_in = (expires_at - chrono::Utc::now().timestamp()).max(0);
        Ok(IssuedToken { access_token, expires_in, refresh_token: grant.refresh_token, principal: grant.credential.principal })
    }

    /// A token for an API key's client credentials; `scope` is the account
    /// of the base path the request came in on, if any.
    pub async fn grant_client_credentials(&self, scope: Option<AccountId>, client_id: &str, secret: &str) -> Result<IssuedToken, Error> {
        let Some(key) = crate::domain::parse_uuid(client_id.trim()).map(ApiKeyId::from) else {
            let _ = crate::credentials::secret_matches(secret, "");
            return Err(sign_in::invalid_client());
        };
        let (secret, policy) = (secret.to_owned(), self.policy);
        let grant = self.write(None, move |w| sign_in::grant_for_key(w, scope, key, &secret, &policy, now())).await?;
        self.issue(grant)
    }

    /// A token (and, with `offline`, a refresh token) for a username and
    /// password. A wrong password and an unknown username cost the same
    /// Argon2 check and get the same answer; repeated failures lock the user.
    pub async fn grant_password(
        &self,
        scope: Option<AccountId>,
        username: &str,
        password: &str,
        offline: bool,
    ) -> Result<IssuedToken, Error> {
        let username = username.to_owned();
        let candidate = self
            .read(move |r| {
                let account = sign_in::password_account(r, scope)?;
                sign_in::password_candidate(r, account, &username)
            })
            .await?;
        let stored = candidate.as_ref().and_then(|c| c.password_hash.clone());
        let matched = self.hasher.verify(&Password::candidate(password), stored).await?;
        let policy = self.policy;
        let outcome =
            self.write(None, move |w| sign_in::finish_password_sign_in(w, candidate.as_ref(), matched, offline, &policy, now())).await?;
        self.issue(outcome?)
    }

    /// A new token and refresh token for a refresh token (which is used up).
    pub async fn grant_refresh(&self, scope: Option<AccountId>, refresh_token: &str) -> Result<IssuedToken, Error> {
        let (token, policy) = (refresh_token.to_owned(), self.policy);
        let outcome = self.write(None, move |w| sign_in::grant_for_refresh(w, scope, &token, &policy, now())).await?;
        self.issue(outcome?)
    }

    /// A token for a user, as an operator asks for one on the command line.
    pub async fn issue_token_as_system(&self, account: AccountId, user: UserIdentifier, ttl_secs: i64) -> Result<String, Error> {
        let state = self
            .read(move |r| {
                let user = users::find_user(r, account, &user, false)?;
                Ok(crate::db::users::sign_in_state(r, account, user.id)?)
            })
            .await?
            .ok_or_else(Error::user_not_found)?;
        let principal = Principal::new(state.id, account);
        let credential = Credential { principal, key: None, session: None, epoch: state.auth_epoch.into() };
        self.keys.issue_for(&credential, chrono::Utc::now().timestamp() + ttl_secs)
    }

    pub async fn create_api_key(&self, p: &Principal, draft: KeyDraft) -> Result<NewApiKey, Error> {
        let p = *p;
        self.write(Some(p), move |w| api_keys::create(w, &p, &draft, now())).await
    }

    pub async fn list_api_keys(&self, p: &Principal, user: Option<UserIdentifier>) -> Result<Vec<ApiKey>, Error> {
        let p = *p;
        self.read(move |r| api_keys::list(r, &p, user.as_ref())).await
    }

    pub async fn revoke_api_key(&self, p: &Principal, key: ApiKeyId) -> Result<ApiKey, Error> {
        let p = *p;
        self.write(Some(p), move |w| api_keys::revoke(w, &p, key, now())).await
    }

    /// A key for a user made by the operator (command line, first start).
    pub async fn create_api_key_as_system(
        &self,
        account: AccountId,
        user: UserIdentifier,
        name: &str,
        purpose: KeyPurpose,
    ) -> Result<NewApiKey, Error> {
        let mut draft = KeyDraft::parse(None, Some(name), None, now())?;
        draft.purpose = purpose;
        self.write(None, move |w| {
            let user = users::find_user(w, account, &user, false)?;
            api_keys::create(w, &Principal::new(user.id, account), &draft, now())
        })
        .await
    }

    /// The keys of an account (of one user when named), for the operator.
    pub async fn list_api_keys_as_system(&self, account: AccountId, user: Option<UserIdentifier>) -> Result<Vec<ApiKey>, Error> {
        self.read(move |r| {
            let user = user.map(|u| users::find_user(r, account, &u, false)).transpose()?;
            Ok(crate::db::api_keys::list(r, account, user.map(|u| u.id))?)
        })
        .await
    }

    pub async fn revoke_api_key_as_system(&self, account: AccountId, key: ApiKeyId) -> Result<ApiKey, Error> {
        self.write(None, move |w| api_keys::revoke_in_account(w, account, key, |_, _| Ok(true), now())).await
    }

    /// Sets a user's password. One's own needs the existing password (if
    /// there is one); another's needs `user_update` and holding all they hold.
    /// Ends the user's password sign-ins, except the caller's own `session`.
    pub async fn change_password(
        &self,
        p: &Principal,
        session: Option<SessionId>,
        user: UserIdentifier,
        new: Password,
        existing: Option<Password>,
    ) -> Result<(), Error> {
        let p = *p;
        let (target, stored) = self.read(move |r| user_status::password_change_target(r, &p, &user)).await?;
        if target == p.user && stored.is_some() {
            let existing = existing
                .ok_or_else(|| Error::validation("Changing your own password needs the existing one").detail("field", "existing".into()))?;
            if !self.hasher.verify(&existing, stored).await? {
                // A wrong `existing` is a wrong password: it counts towards the lockout.
                let (account, policy) = (p.account, self.policy);
                self.write(Some(p), move |w| match crate::db::users::sign_in_state(w, account, target)? {
                    Some(user) => sign_in::record_password_failure(w, &user, &policy, now()),
                    None => Ok(()),
                })
                .await?;
                return Err(Error::validation("The existing password is not correct").detail("field", "existing".into()));
            }
        }
        let hash = self.hasher.hash(&new).await?;
        self.write(Some(p), move |w| user_status::set_password(w, &p, target, &hash, session, now())).await
    }

    pub async fn user_action(&self, p: &Principal, user: UserIdentifier, action: UserAction) -> Result<(), Error> {
        let p = *p;
        self.write(Some(p), move |w| user_status::act(w, &p, &user, action, now())).await
    }

    // SCIM 2.0 (the engine's SCIM use cases; ids as the client sent them).

    pub async fn scim_get_user(&self, p: &Principal, id: String) -> Result<scim::UserResource, Error> {
        let p = *p;
        self.read(move |r| scim::get_user(r, &p, &id)).await
    }

    pub async fn scim_list_users(&self, p: &Principal, listing: scim::Listing) -> Result<(Vec<scim::UserResource>, i64), Error> {
        let p = *p;
        self.read(move |r| scim::list_users(r, &p, &listing)).await
    }

    pub async fn scim_create_user(&self, p: &Principal, user: ScimUser) -> Result<scim::UserResource, Error> {
        let p = *p;
        self.write(Some(p), move |w| scim::create_user(w, &p, user.clone())).await
    }

    pub async fn scim_replace_user(
        &self,
        p: &Principal,
        id: String,
        attrs: serde_json::Map<String, serde_json::Value>,
        expected: scim::Precondition,
    ) -> Result<scim::UserResource, Error> {
        let p = *p;
        self.write(Some(p), move |w| scim::replace_user(w, &p, &id, &attrs, &expected)).await
    }

    pub async fn scim_patch_user(
        &self,
        p: &Principal,
        id: String,
        ops: Vec<ScimOperation>,
        expected: scim::Precondition,
    ) -> Result<scim::UserResource, Error> {
        let p = *p;
        self.write(Some(p), move |w| scim::patch_user(w, &p, &id, &ops, &expected)).await
    }

    pub async fn scim_delete_user(&self, p: &Principal, id: String) -> Result<(), Error> {
        let p = *p;
        self.write(Some(p), move |w| scim::delete_user(w, &p, &id)).await
    }

    pub async fn scim_get_group(&self, p: &Principal, id: String) -> Result<scim::GroupResource, Error> {
        let p = *p;
        self.read(move |r| scim::get_group(r, &p, &id)).await
    }

    pub async fn scim_list_groups(
        &self,
        p: &Principal,
        listing: scim::Listing,
        with_members: bool,
    ) -> Result<(Vec<scim::GroupResource>, i64), Error> {
        let p = *p;
        self.read(move |r| scim::list_groups(r, &p, &listing, with_members)).await
    }

    pub async fn scim_create_group(
        &self,
        p: &Principal,
        group: ScimGroup,
        members: Option<Vec<String>>,
    ) -> Result<scim::GroupResource, Error> {
        let p = *p;
        self.write(Some(p), move |w| scim::create_group(w, &p, group.clone(), members.clone())).await
    }

    pub async fn scim_replace_group(
        &self,
        p: &Principal,
        id: String,
        group: ScimGroup,
        members: Option<Vec<String>>,
        expected: scim::Precondition,
    ) -> Result<scim::GroupResource, Error> {
        let p = *p;
        self.write(Some(p), move |w| scim::replace_group(w, &p, &id, group.clone(), members.clone(), &expected)).await
    }

    pub async fn scim_patch_group(
        &self,
        p: &Principal,
        id: String,
        ops: Vec<ScimOperation>,
        expected: scim::Precondition,
    ) -> Result<scim::GroupResource, Error> {
        let p = *p;
        self.write(Some(p), move |w| scim::patch_group(w, &p, &id, &ops, &expected)).await
    }

    pub async fn scim_delete_group(&self, p: &Principal, id: String) -> Result<(), Error> {
        let p = *p;
        self.write(Some(p), move |w| scim::delete_group(w, &p, &id)).await
    }

    // Membership.

    /// Succeeds also when the user is a member already. Concurrent calls
    /// share one transaction ([`batch`]).
    pub async fn add_user_to_group(&self, p: &Principal, group: GroupIdentifier, user: UserIdentifier) -> Result<(), Error> {
        self.add_user_to_group_checking(p, None, group, user).await
    }

    /// [`Service::add_user_to_group`]; with `unchecked`, the caller's token
    /// is checked in the add's transaction ([`Service::check_credential`]'s
    /// check, its refusal the answer) instead of in a read before it.
    pub async fn add_user_to_group_checking(
        &self,
        p: &Principal,
        unchecked: Option<Credential>,
        group: GroupIdentifier,
        user: UserIdentifier,
    ) -> Result<(), Error> {
        let p = *p;
        let adds = batch::started(&self.adds, "single adds run one transaction each", || {
            batch::Adds::start(self.pool.clone(), self.observers.clone())
        });
        if let Some(adds) = adds {
            let context = self.context(p);
            let add = members::OneAdd { principal: p, group: group.clone(), user: user.clone() };
            if let Some(answer) = adds.add(add, unchecked, context).await {
                return answer;
            }
        }
        if let Some(credential) = unchecked {
            self.check_credential(credential).await?;
        }
        self.write(Some(p), move |w| members::add_user_to_group(w, &p, &group, &user)).await
    }

    /// All or none; returns how many memberships are new.
    pub async fn add_users_to_group(&self, p: &Principal, group: GroupIdentifier, users: UserIdList) -> Result<usize, Error> {
        let p = *p;
        self.write(Some(p), move |w| members::add_users_to_group(w, &p, &group, &users)).await
    }

    pub async fn remove_users_from_group(&self, p: &Principal, group: GroupIdentifier, users: UserIdList) -> Result<usize, Error> {
        let p = *p;
        self.write(Some(p), move |w| members::remove_users_from_group(w, &p, &group, &users)).await
    }

    pub async fn remove_user_from_group(&self, p: &Principal, group: GroupIdentifier, user: UserIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(Some(p), move |w| members::remove_user_from_group(w, &p, &group, &user)).await
    }

    pub async fn is_member(&self, p: &Principal, group: GroupIdentifier, user: UserIdentifier) -> Result<bool, Error> {
        let p = *p;
        self.read(move |r| members::is_member(r, &p, &group, &user)).await
    }

    /// A v1 member page, `f` building each item as its row arrives.
    pub async fn list_members<T: Send + 'static>(
        &self,
        p: &Principal,
        group: GroupIdentifier,
        after: Option<UserId>,
        limit: i64,
        mut f: impl FnMut(User) -> T + Send + 'static,
    ) -> Result<MemberPage<T>, Error> {
        let p = *p;
        self.read(move |r| members::list_members(r, &p, &group, after, limit, &mut f)).await
    }

    /// A management member page, `f` building each item as its row arrives.
    pub async fn list_members_paged<T: Send + 'static>(
        &self,
        p: &Principal,
        group: GroupIdentifier,
        query: MemberQuery,
        mut f: impl FnMut(User) -> T + Send + 'static,
    ) -> Result<UserPage<T>, Error> {
        let p = *p;
        self.read(move |r| members::list_members_paged(r, &p, &group, &query, &mut f)).await
    }

    // Nesting.

    pub async fn add_child_groups(&self, p: &Principal, parent: GroupIdentifier, children: Vec<GroupIdentifier>) -> Result<usize, Error> {
        let p = *p;
        self.write(Some(p), move |w| hierarchy::add_children(w, &p, &parent, &children)).await
    }

    pub async fn remove_child_group(&self, p: &Principal, parent: GroupIdentifier, child: GroupIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(Some(p), move |w| hierarchy::remove_child(w, &p, &parent, &child)).await
    }

    pub async fn list_child_groups(
        &self,
        p: &Principal,
        group: GroupIdentifier,
        inherited: bool,
        include_self: bool,
        selection: Selection,
    ) -> Result<(i64, Vec<GroupView>), Error> {
        let p = *p;
        self.read(move |r| hierarchy::list_children(r, &p, &group, inherited, include_self, &selection)).await
    }

    // Groups.

    pub async fn create_group(
        &self,
        p: &Principal,
        name: GroupName,
        description: GroupDescription,
        permissions: Option<Vec<Permission>>,
        custom: Option<String>,
    ) -> Result<GroupView, Error> {
        self.create_group_checking(p, None, name, description, permissions, custom).await
    }

    /// [`Service::create_group`]; with `unchecked`, the caller's token is
    /// checked in the creation's transaction ([`Service::check_credential`]'s
    /// check, its refusal the answer) instead of in a read before it.
    pub async fn create_group_checking(
        &self,
        p: &Principal,
        unchecked: Option<Credential>,
        name: GroupName,
        description: GroupDescription,
        permissions: Option<Vec<Permission>>,
        custom: Option<String>,
    ) -> Result<GroupView, Error> {
        let p = *p;
        let permissions = permissions.filter(|granted| !granted.is_empty());
        if let (None, Some(creations)) = (&permissions, self.creations()) {
            let draft = groups::GroupDraft { name, description, custom };
            return match created(creations, batch::Creation::Group((p, draft, self.context(p))), unchecked).await? {
                batch::Created::Group(view) => Ok(view),
                batch::Created::User(_) => Err(Error::internal("a group's creation made a user")),
            };
        }
        if let Some(credential) = unchecked {
            self.check_credential(credential).await?;
        }
        self.write(Some(p), move |w| groups::create(w, &p, name.clone(), description.clone(), permissions.clone(), custom.clone())).await
    }

    /// Who and what request a write of `p` is recorded as.
    fn context(&self, p: Principal) -> WriteContext {
        WriteContext { actor: Some(p), request_id: crate::observe::current_request_id() }
    }

    /// The queue of creations ([`batch::Creations`]), started at the first
    /// call; `None` when it cannot start (creations then run alone).
    fn creations(&self) -> Option<&batch::Creations> {
        batch::started(&self.creations, "creations run one transaction each", || {
            batch::Creations::start(self.pool.clone(), self.observers.clone())
        })
    }

    pub async fn get_group(&self, p: &Principal, group: GroupIdentifier) -> Result<GroupView, Error> {
        let p = *p;
        self.read(move |r| groups::get(r, &p, &group)).await
    }

    pub async fn list_groups(&self, p: &Principal, search: Option<Search>, sort: Sort<GroupSort>, page: Page) -> Result<GroupPage, Error> {
        let p = *p;
        self.read(move |r| groups::list(r, &p, search.as_ref(), sort, page)).await
    }

    pub async fn update_group(&self, p: &Principal, group: GroupIdentifier, patch: GroupPatch) -> Result<GroupView, Error> {
        let p = *p;
        self.write(Some(p), move |w| groups::update(w, &p, &group, &patch)).await
    }

    pub async fn delete_group(&self, p: &Principal, group: GroupIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(Some(p), move |w| groups::delete(w, &p, &group)).await
    }

    // Users.

    /// Creates a user, with a password when given (hashed only once the
    /// caller is known to be allowed to create users).
    pub async fn create_user(&self, p: &Principal, draft: UserDraft, password: Option<Password>) -> Result<User, Error> {
        self.create_user_checking(p, None, draft, password).await
    }

    /// [`Service::create_user`]; with `unchecked`, the caller's token is
    /// checked as [`Service::create_group_checking`] says.
    pub async fn create_user_checking(
        &self,
        p: &Principal,
        unchecked: Option<Credential>,
        draft: UserDraft,
        password: Option<Password>,
    ) -> Result<User, Error> {
        let p = *p;
        let mut draft = draft;
        let mut unchecked = unchecked;
        if let Some(password) = password {
            // The token first: no hashing for a caller who is not one.
            if let Some(credential) = unchecked.take() {
                self.check_credential(credential).await?;
            }
            self.read(move |r| access::require(r, &p, crate::domain::Permission::UserCreate)).await?;
            draft.password_hash = Some(self.hasher.hash(&password).await?);
        }
        if let Some(creations) = self.creations() {
            return match created(creations, batch::Creation::User((p, draft, self.context(p))), unchecked).await? {
                batch::Created::User(user) => Ok(user),
                batch::Created::Group(_) => Err(Error::internal("a user's creation made a group")),
            };
        }
        if let Some(credential) = unchecked {
            self.check_credential(credential).await?;
        }
        self.write(Some(p), move |w| users::create(w, &p, draft.clone())).await
    }

    pub async fn get_user(&self, p: &Principal, user: UserIdentifier, include_deleted: bool) -> Result<User, Error> {
        let p = *p;
        self.read(move |r| users::get(r, &p, &user, include_deleted)).await
    }

    pub async fn list_users(&self, p: &Principal, filter: UserFilter, sort: Sort<UserSort>, page: Page) -> Result<UserPage, Error> {
        let p = *p;
        self.read(move |r| users::list(r, &p, &filter, sort, page)).await
    }

    pub async fn search_users(
        &self,
        p: &Principal,
        expr: crate::domain::user_query::Expr,
        sort: Sort<UserSort>,
        page: Page,
    ) -> Result<UserPage, Error> {
        let p = *p;
        self.read(move |r| users::search(r, &p, &expr, &sort, page)).await
    }

    pub async fn update_user(&self, p: &Principal, user: UserIdentifier, patch: UserPatch) -> Result<User, Error> {
        let p = *p;
        self.write(Some(p), move |w| users::update(w, &p, &user, &patch)).await
    }

    pub async fn delete_user(&self, p: &Principal, user: UserIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(Some(p), move |w| users::delete(w, &p, &user)).await
    }

    /// The page `selection` picks of a user's groups (and the total it counts).
    pub async fn groups_of_user(
        &self,
        p: &Principal,
        user: UserIdentifier,
        inherited: bool,
        selection: Selection,
    ) -> Result<(i64, Vec<GroupView>), Error> {
        let p = *p;
        self.read(move |r| users::groups_of(r, &p, &user, inherited, &selection)).await
    }

    pub async fn user_in_any_group(&self, p: &Principal, user: UserIdentifier, groups: Vec<GroupIdentifier>) -> Result<bool, Error> {
        let p = *p;
        self.read(move |r| users::in_any_group(r, &p, &user, &groups)).await
    }

    // The change feed and webhooks.

    pub async fn list_events(
        &self,
        p: &Principal,
        after: Option<i64>,
        limit: i64,
        filter: crate::db::events::FeedFilter,
    ) -> Result<crate::engine::events::FeedPage, Error> {
        let p = *p;
        self.read(move |r| crate::engine::events::page(r, &p, after, limit, &filter)).await
    }

    pub async fn create_webhook(&self, p: &Principal, draft: WebhookDraft) -> Result<Webhook, Error> {
        let (p, allow) = (*p, self.feed.webhooks_allow_private);
        self.write(Some(p), move |w| webhooks::create(w, &p, &draft, allow)).await
    }

    pub async fn list_webhooks(&self, p: &Principal) -> Result<Vec<Webhook>, Error> {
        let p = *p;
        self.read(move |r| webhooks::list(r, &p)).await
    }

    pub async fn get_webhook(&self, p: &Principal, id: WebhookId) -> Result<Webhook, Error> {
        let p = *p;
        self.read(move |r| webhooks::get(r, &p, id)).await
    }

    pub async fn update_webhook(&self, p: &Principal, id: WebhookId, draft: WebhookDraft) -> Result<Webhook, Error> {
        let (p, allow) = (*p, self.feed.webhooks_allow_private);
        let updated = self.write(Some(p), move |w| webhooks::update(w, &p, id, &draft, allow)).await?;
        // A re-enabled webhook is due at once.
        self.signals.positioned.notify_one();
        Ok(updated)
    }

    pub async fn delete_webhook(&self, p: &Principal, id: WebhookId) -> Result<(), Error> {
        let p = *p;
        self.write(Some(p), move |w| webhooks::delete(w, &p, id)).await
    }

    pub async fn webhook_deliveries(&self, p: &Principal, id: WebhookId, limit: i64) -> Result<(Webhook, Vec<Delivery>), Error> {
        let p = *p;
        self.read(move |r| webhooks::deliveries(r, &p, id, limit)).await
    }

    // The system's own use cases (command line, first start).

    /// The account of that name (created when missing) and its administrator
    /// of that username (created when missing, made a member of System
    /// Administrators).
    pub async fn ensure_account_admin(&self, account: &str, username: &str, email: &str) -> Result<(Account, User), Error> {
        let (account, username, email) = (account.to_owned(), username.to_owned(), email.to_owned());
        self.write(None, move |w| {
            let account = accounts::ensure_account(w, &account)?;
            let admin = accounts::ensure_admin(w, account.id, &username, &email)?;
            Ok((account, admin))
        })
        .await
    }

    /// On an empty database, creates the default account and its `admin`
    /// user; returns them when this call created them (another instance
    /// starting at the same moment may win instead).
    pub async fn bootstrap_empty_database(&self) -> Result<Option<(Account, User)>, Error> {
        if !self.read(accounts::is_empty).await? {
            return Ok(None);
        }
        let created = self
            .write(None, |w| {
                if !accounts::is_empty(w)? {
                    return Ok(None);
                }
                let account = accounts::create_account(w, accounts::DEFAULT_ACCOUNT)?;
                let admin = accounts::ensure_admin(w, account.id, accounts::DEFAULT_ADMIN, accounts::DEFAULT_ADMIN_EMAIL)?;
                Ok(Some((account, admin)))
            })
            .await;
        match created {
            // The other instance's account took the name first.
            Err(e) if e.kind == crate::error::ErrorKind::NameTaken => Ok(None),
            other => other,
        }
    }

    pub async fn find_account(&self, id: AccountId) -> Result<Option<Account>, Error> {
        self.read(move |r| accounts::find_account(r, id)).await
    }

    pub async fn find_user(&self, account: AccountId, user: UserIdentifier) -> Result<Option<User>, Error> {
        self.read(move |r| accounts::find_user(r, account, &user)).await
    }

    pub async fn seed_document_examples(&self, account: AccountId) -> Result<(), Error> {
        self.write(None, move |w| accounts::seed_document_examples(w, account)).await
    }

    /// Runs a write of the system's own (imports, seeding, tests) through the
    /// same transaction and change observers as every use case.
    pub async fn write_as_system<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnMut(&mut Write) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.write(None, f).await
    }
}

/// A creation run in the next batch of creations. A creation whose batch
/// gave no answer is not run again (it may have been written): 503.
async fn created(creations: &batch::Creations, creation: batch::Creation, unchecked: Option<Credential>) -> Result<batch::Created, Error> {
    creations
        .create(creation, unchecked)
        .await
        .unwrap_or_else(|| Err(Error::unavailable("the creation got no answer; it may have been made")))
}
