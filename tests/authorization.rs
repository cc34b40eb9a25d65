//! The authorization matrix, at the service (no HTTP): every use case, called
//! by a principal holding exactly one permission (each in turn), by a
//! principal holding none, and by an administrator, on a real database of
//! each backend. A call is refused with `Forbidden` exactly when the
//! principal lacks what the use case needs — so a use case that forgot its
//! check, or checks the wrong permission, fails here whatever surface calls it.

#[path = "api/helpers.rs"]
#[allow(dead_code, reason = "the shared harness has more than this binary uses")]
mod helpers;

use std::future::Future;
use std::pin::Pin;

use helpers::{Backend, TestDatabase};
use rollcall::config::DatabaseConfig;
use rollcall::db::Pool;
use rollcall::domain::{
    Email, GroupDescription, GroupId, GroupIdentifier, GroupName, IdList, Page, Permission, PersonName, Principal, Sort, UserId,
    UserIdentifier,
};
use rollcall::engine::groups::GroupPatch;
use rollcall::engine::groups::Selection;
use rollcall::engine::members::MemberQuery;
use rollcall::engine::users::{UserDraft, UserPatch};
use rollcall::error::{Error, ErrorKind};
use rollcall::service::Service;

type Call = Box<dyn Fn(Service, Principal, Fixture, usize) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>>;

/// What the calls act on.
#[derive(Clone, Copy)]
struct Fixture {
    group: GroupId,
    child: GroupId,
    user: UserId,
}

fn draft(n: usize) -> UserDraft {
    UserDraft {
        email: Email::parse(&format!("made{n}-{}@example.com", uuid::Uuid::new_v4().simple())).unwrap(),
        username: None,
        first_name: PersonName::parse("firstName", None).unwrap(),
        last_name: PersonName::parse("lastName", None).unwrap(),
        password_hash: None,
        suspended: false,
        profile: Default::default(),
    }
}

/// Every use case of the service that a principal calls, with what it needs
/// (`None`: anyone; `Some(None)`: administrators only).
fn use_cases() -> Vec<(&'static str, Option<Option<Permission>>, Call)> {
    use Permission::*;
    macro_rules! call {
        (|$s:ident, $p:ident, $f:ident, $n:ident| $body:expr) => {
            Box::new(move |$s: Service, $p: Principal, $f: Fixture, $n: usize| Box::pin(async move { $body.map(drop) }))
        };
    }
    let g = |f: Fixture| GroupIdentifier::Id(f.group);
    let u = |f: Fixture| UserIdentifier::Id(f.user);
    let page = Page { offset: 0, limit: 10 };
    vec![
        ("add one member", Some(Some(GroupUpdate)), call!(|s, p, f, _n| s.add_user_to_group(&p, g(f), u(f)).await)),
        (
            "add members",
            Some(Some(GroupUpdate)),
            call!(|s, p, f, _n| s.add_users_to_group(&p, g(f), IdList::parse("user", vec![f.user]).unwrap()).await),
        ),
        (
            "remove members",
            Some(Some(GroupUpdate)),
            call!(|s, p, f, _n| s.remove_users_from_group(&p, g(f), IdList::parse("user", vec![f.user]).unwrap()).await),
        ),
        (
            "remove one member",
            Some(Some(GroupUpdate)),
            call!(|s, p, f, _n| match s.remove_user_from_group(&p, g(f), u(f)).await {
                Err(e) if e.kind == ErrorKind::NotAMember => Ok(()),
                other => other,
            }),
        ),
        ("is a member", Some(Some(GroupRead)), call!(|s, p, f, _n| s.is_member(&p, g(f), u(f)).await)),
        ("list members", Some(Some(GroupRead)), call!(|s, p, f, _n| s.list_members(&p, g(f), None, 10, |u| u).await)),
        (
            "list members paged",
            Some(Some(GroupRead)),
            call!(|s, p, f, _n| {
                let query = MemberQuery { inherited: true, excluded: vec![], search: None, sort: Sort::default(), page };
                s.list_members_paged(&p, g(f), query, |u| u).await
            }),
        ),
        ("nest", Some(Some(GroupUpdate)), call!(|s, p, f, _n| s.add_child_groups(&p, g(f), vec![GroupIdentifier::Id(f.child)]).await)),
        (
            "unnest",
            Some(Some(GroupUpdate)),
            call!(|s, p, f, _n| match s.remove_child_group(&p, g(f), GroupIdentifier::Id(f.child)).await {
                Err(e) if e.kind == ErrorKind::NotAChild => Ok(()),
                other => other,
            }),
        ),
        ("list children", Some(Some(GroupRead)), call!(|s, p, f, _n| s.list_child_groups(&p, g(f), true, true, Selection::all()).await)),
        (
            "create a group",
            Some(Some(GroupCreate)),
            call!(|s, p, _f, n| s
                .create_group(&p, GroupName::parse(&format!("made {n}")).unwrap(), GroupDescription::parse(None).unwrap(), None, None)
                .await),
        ),
        (
            "create a group granting a permission",
            Some(None),
            call!(|s, p, _f, n| s
                .create_group(
                    &p,
                    GroupName::parse(&format!("granting {n}")).unwrap(),
                    GroupDescription::parse(None).unwrap(),
                    Some(vec![Permission::UserRead]),
                    None,
                )
                .await),
        ),
        ("get a group", Some(Some(GroupRead)), call!(|s, p, f, _n| s.get_group(&p, g(f)).await)),
        ("list groups", Some(Some(GroupRead)), call!(|s, p, _f, _n| s.list_groups(&p, None, Sort::default(), page).await)),
        (
            "update a group",
            Some(Some(GroupUpdate)),
            call!(|s, p, f, n| {
                let patch =
                    GroupPatch { description: Some(GroupDescription::parse(Some(&format!("v{n}"))).unwrap()), ..Default::default() };
                s.update_group(&p, g(f), patch).await
            }),
        ),
        (
            "delete a group",
            Some(Some(GroupDelete)),
            call!(|s, p, _f, n| {
                // A group of its own, made by the system, for each call.
                let made = s
                    .write_as_system(move |w| {
                        let account = p.account;
                        rollcall::engine::groups::insert_group(
                            w,
                            account,
                            GroupName::parse(&format!("doomed {n}"))?,
                            GroupDescription::parse(None)?,
                        )
                    })
                    .await
                    .unwrap();
                s.delete_group(&p, GroupIdentifier::Id(made.id)).await
            }),
        ),
        ("create a user", Some(Some(UserCreate)), call!(|s, p, _f, n| s.create_user(&p, draft(n), None).await)),
        ("get a user", Some(Some(UserRead)), call!(|s, p, f, _n| s.get_user(&p, u(f), false).await)),
        ("get oneself", None, call!(|s, p, _f, _n| s.get_user(&p, UserIdentifier::Id(p.user), false).await)),
        ("list users", Some(Some(UserRead)), call!(|s, p, _f, _n| s.list_users(&p, Default::default(), Sort::default(), page).await)),
        (
            "update a user",
            Some(Some(UserUpdate)),
            call!(|s, p, f, _n| {
                let patch = UserPatch { first_name: Some(PersonName::parse("firstName", Some("Renamed")).unwrap()), ..Default::default() };
                s.update_user(&p, u(f), patch).await
            }),
        ),
        (
            "delete a user",
            Some(Some(UserDelete)),
            call!(|s, p, _f, n| {
                let made = s.write_as_system(move |w| rollcall::engine::users::insert_user(w, p.account, draft(n))).await.unwrap();
                s.delete_user(&p, UserIdentifier::Id(made.id)).await
            }),
        ),
        ("a user's groups", Some(Some(UserRead)), call!(|s, p, f, _n| s.groups_of_user(&p, u(f), true, Selection::all()).await)),
        ("one's own groups", None, call!(|s, p, _f, _n| s.groups_of_user(&p, UserIdentifier::Id(p.user), true, Selection::all()).await)),
        ("a user in groups", Some(Some(UserRead)), call!(|s, p, f, _n| s.user_in_any_group(&p, u(f), vec![g(f)]).await)),
    ]
}

async fn matrix(backend: Backend) {
    let Some(db) = TestDatabase::create(backend) else { return };
    let pool = Pool::connect(&DatabaseConfig::new(db.url.clone())).unwrap();
    pool.migrate().unwrap();
    let service = rollcall::cli::service(pool, rollcall::tokens::TokenKeys::from_secret(b"authorization-matrix-secret"));
    let (account, admin) = service.ensure_account_admin("matrix", "admin", "admin@example.com").await.unwrap();
    let admin = Principal::new(admin.id, account.id);
    // One principal per permission (a member of a group granted just it),
    // and one with none.
    let mut principals: Vec<(String, Principal, Option<Permission>)> = vec![("admin".into(), admin, None)];
    for (n, permission) in Permission::ALL.into_iter().enumerate() {
        let name = GroupName::parse(&format!("holders of {permission}")).unwrap();
        let holders =
            service.create_group(&admin, name, GroupDescription::parse(None).unwrap(), Some(vec![permission]), None).await.unwrap();
        let holder = service.create_user(&admin, draft(1000 + n), None).await.unwrap();
        service
            .add_users_to_group(&admin, GroupIdentifier::Id(holders.group.id), IdList::parse("user", vec![holder.id]).unwrap())
            .await
            .unwrap();
        principals.push((permission.to_string(), Principal::new(holder.id, account.id), Some(permission)));
    }
    let nobody = service.create_user(&admin, draft(2000), None).await.unwrap();
    principals.push(("nothing".into(), Principal::new(nobody.id, account.id), None));
    let target = service
        .create_group(&admin, GroupName::parse("Target").unwrap(), GroupDescription::parse(None).unwrap(), None, None)
        .await
        .unwrap();
    let child =
        service.create_group(&admin, GroupName::parse("Child").unwrap(), GroupDescription::parse(None).unwrap(), None, None).await.unwrap();
    let user = service.create_user(&admin, draft(3000), None).await.unwrap();
    let fixture = Fixture { group: target.group.id, child: child.group.id, user: user.id };

    let mut n = 0;
    let mut wrong = Vec::new();
    for (case, needs, call) in use_cases() {
        for (who, principal, holds) in &principals {
            n += 1;
            let is_admin = who == "admin";
            let entitled = match needs {
                None => true,
                Some(None) => is_admin,
                Some(Some(p)) => is_admin || *holds == Some(p),
            };
            let outcome = call(service.clone(), *principal, fixture, n).await;
            let refused = matches!(&outcome, Err(e) if e.kind == ErrorKind::Forbidden);
            if refused == entitled {
                wrong.push(format!("{case} by {who}: {outcome:?} (entitled: {entitled})"));
            }
            if let Err(e) = &outcome {
                assert!(!e.is_server_fault(), "{case} by {who}: {e:?}");
            }
        }
    }
    assert!(wrong.is_empty(), "{backend:?}: the matrix is wrong in {} cells:\n{}", wrong.len(), wrong.join("\n"));
    assert!(n > 200, "{n} cells");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_use_case_refuses_exactly_who_lacks_its_permission() {
    matrix(Backend::Sqlite).await;
    matrix(Backend::Postgres).await;
}
