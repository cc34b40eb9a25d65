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

mod observe;

use std::sync::Arc;

pub use observe::{Observe, Observers};

use crate::db::accounts::Account;
use crate::db::users::{User, UserFilter};
use crate::db::{Pool, Read, Write};
use crate::domain::{
    AccountId, GroupDescription, GroupIdentifier, GroupName, GroupSort, Page, Permission, Principal, Search, Sort, UserId, UserIdList,
    UserIdentifier, UserSort,
};
use crate::engine::groups::{GroupPage, GroupPatch, GroupView};
use crate::engine::members::{MemberPage, MemberQuery};
use crate::engine::users::{UserDraft, UserPage, UserPatch};
use crate::engine::{accounts, groups, hierarchy, members, users};
use crate::error::Error;

/// The core behind every surface and the command line; cheap to clone.
#[derive(Clone)]
pub struct Service {
    pool: Pool,
    observers: Arc<Observers>,
}

impl Service {
    pub fn new(pool: Pool, observers: Observers) -> Self {
        Self { pool, observers: Arc::new(observers) }
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
    async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnMut(&mut Write) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let mut f = f;
        let observers = self.observers.clone();
        let (value, changes) = self
            .pool
            .write(move |conn| {
                conn.write(|conn| {
                    let mut w = Write::within_transaction(conn);
                    let value = f(&mut w)?;
                    observers.in_transaction(&mut w)?;
                    Ok((value, w.into_changes()))
                })
            })
            .await?;
        self.observers.committed(&changes);
        Ok(value)
    }

    // Membership.

    pub async fn add_user_to_group(&self, p: &Principal, group: GroupIdentifier, user: UserIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(move |w| members::add_user_to_group(w, &p, &group, &user)).await
    }

    /// All or none; returns how many memberships are new.
    pub async fn add_users_to_group(&self, p: &Principal, group: GroupIdentifier, users: UserIdList) -> Result<usize, Error> {
        let p = *p;
        self.write(move |w| members::add_users_to_group(w, &p, &group, &users)).await
    }

    pub async fn remove_users_from_group(&self, p: &Principal, group: GroupIdentifier, users: UserIdList) -> Result<usize, Error> {
        let p = *p;
        self.write(move |w| members::remove_users_from_group(w, &p, &group, &users)).await
    }

    pub async fn remove_user_from_group(&self, p: &Principal, group: GroupIdentifier, user: UserIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(move |w| members::remove_user_from_group(w, &p, &group, &user)).await
    }

    pub async fn is_member(&self, p: &Principal, group: GroupIdentifier, user: UserIdentifier) -> Result<bool, Error> {
        let p = *p;
        self.read(move |r| members::is_member(r, &p, &group, &user)).await
    }

    pub async fn list_members(
        &self,
        p: &Principal,
        group: GroupIdentifier,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<MemberPage, Error> {
        let p = *p;
        self.read(move |r| members::list_members(r, &p, &group, after, limit)).await
    }

    pub async fn list_members_paged(&self, p: &Principal, group: GroupIdentifier, query: MemberQuery) -> Result<UserPage, Error> {
        let p = *p;
        self.read(move |r| members::list_members_paged(r, &p, &group, &query)).await
    }

    // Nesting.

    pub async fn add_child_groups(&self, p: &Principal, parent: GroupIdentifier, children: Vec<GroupIdentifier>) -> Result<usize, Error> {
        let p = *p;
        self.write(move |w| hierarchy::add_children(w, &p, &parent, &children)).await
    }

    pub async fn remove_child_group(&self, p: &Principal, parent: GroupIdentifier, child: GroupIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(move |w| hierarchy::remove_child(w, &p, &parent, &child)).await
    }

    pub async fn list_child_groups(
        &self,
        p: &Principal,
        group: GroupIdentifier,
        inherited: bool,
        include_self: bool,
    ) -> Result<Vec<GroupView>, Error> {
        let p = *p;
        self.read(move |r| hierarchy::list_children(r, &p, &group, inherited, include_self)).await
    }

    // Groups.

    pub async fn create_group(
        &self,
        p: &Principal,
        name: GroupName,
        description: GroupDescription,
        permissions: Option<Vec<Permission>>,
    ) -> Result<GroupView, Error> {
        let p = *p;
        self.write(move |w| groups::create(w, &p, name.clone(), description.clone(), permissions.clone())).await
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
        self.write(move |w| groups::update(w, &p, &group, &patch)).await
    }

    pub async fn delete_group(&self, p: &Principal, group: GroupIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(move |w| groups::delete(w, &p, &group)).await
    }

    // Users.

    pub async fn create_user(&self, p: &Principal, draft: UserDraft) -> Result<User, Error> {
        let p = *p;
        self.write(move |w| users::create(w, &p, draft.clone())).await
    }

    pub async fn get_user(&self, p: &Principal, user: UserIdentifier, include_deleted: bool) -> Result<User, Error> {
        let p = *p;
        self.read(move |r| users::get(r, &p, &user, include_deleted)).await
    }

    pub async fn list_users(&self, p: &Principal, filter: UserFilter, sort: Sort<UserSort>, page: Page) -> Result<UserPage, Error> {
        let p = *p;
        self.read(move |r| users::list(r, &p, &filter, sort, page)).await
    }

    pub async fn update_user(&self, p: &Principal, user: UserIdentifier, patch: UserPatch) -> Result<User, Error> {
        let p = *p;
        self.write(move |w| users::update(w, &p, &user, &patch)).await
    }

    pub async fn delete_user(&self, p: &Principal, user: UserIdentifier) -> Result<(), Error> {
        let p = *p;
        self.write(move |w| users::delete(w, &p, &user)).await
    }

    pub async fn groups_of_user(&self, p: &Principal, user: UserIdentifier, inherited: bool) -> Result<Vec<GroupView>, Error> {
        let p = *p;
        self.read(move |r| users::groups_of(r, &p, &user, inherited)).await
    }

    pub async fn user_in_any_group(&self, p: &Principal, user: UserIdentifier, groups: Vec<GroupIdentifier>) -> Result<bool, Error> {
        let p = *p;
        self.read(move |r| users::in_any_group(r, &p, &user, &groups)).await
    }

    // The system's own use cases (command line, first start).

    /// The account of that name (created when missing) and its administrator
    /// of that username (created when missing, made a member of System
    /// Administrators).
    pub async fn ensure_account_admin(&self, account: &str, username: &str, email: &str) -> Result<(Account, User), Error> {
        let (account, username, email) = (account.to_owned(), username.to_owned(), email.to_owned());
        self.write(move |w| {
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
            .write(|w| {
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
        self.write(move |w| accounts::seed_document_examples(w, account)).await
    }

    /// Runs a write of the system's own (imports, seeding, tests) through the
    /// same transaction and change observers as every use case.
    pub async fn write_as_system<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnMut(&mut Write) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.write(f).await
    }
}
