// The vendor's own published client (npm contensis-management-api, pinned)
// against a live Rollcall: it signs in with client credentials, with a
// username and password and with a refresh token, at the root and under the
// account's base path, and runs the documents' scenario through its own
// methods. Every step asserts on what the client returns; a failing step
// fails the run. Environment: ROLLCALL_URL, ROLLCALL_ACCOUNT,
// ROLLCALL_KEY_ID, ROLLCALL_KEY_SECRET.
import { Client, Query, Op, OrderBy } from "contensis-management-api";
import { ContensisAuthenticationError } from "contensis-core-api";

const base = process.env.ROLLCALL_URL;
const account = process.env.ROLLCALL_ACCOUNT;
const clientDetails = { clientId: process.env.ROLLCALL_KEY_ID, clientSecret: process.env.ROLLCALL_KEY_SECRET };
const suffix = Math.random().toString(36).slice(2, 8);
const password = "vendor client password";

const client = (rootUrl, clientType, details) => Client.create({ rootUrl, clientType, clientDetails: details, projectId: "website" }, fetch);
const results = [];
const check = (ok, what) => { if (!ok) throw new Error(what); };
async function step(name, fn) {
  try {
    await fn();
    results.push({ step: name, result: "pass" });
  } catch (e) {
    results.push({ step: name, result: "FAIL", why: e && (e.message || JSON.stringify(e.data ?? e)) });
  }
}
async function refused(promise, error) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof ContensisAuthenticationError, `expected ContensisAuthenticationError, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
    check(e.message === error, `expected '${error}', got '${e.message}'`);
    return;
  }
  throw new Error("the call succeeded");
}

const admin = client(base, "client_credentials", clientDetails);
let group;
const users = [];

await step("client_credentials sign-in (groups.create)", async () => {
  group = await admin.security.groups.create({ name: `Vendor client ${suffix}`, description: "made by contensis-management-api" });
  check(typeof group.id === "string" && group.name === `Vendor client ${suffix}`, JSON.stringify(group));
  check(!!admin.bearerToken && admin.bearerTokenExpiryDate > new Date(Date.now() + 30 * 60 * 1000), "a token valid for the hour");
});
await step("users.create x9 with credentials.password", async () => {
  for (let i = 0; i < 9; i++) {
    const u = await admin.security.users.create({
      username: `vendor${i}${suffix}`, email: `vendor${i}.${suffix}@example.com`, firstName: "Vendor", lastName: `User ${i}`,
      credentials: { password },
    });
    check(u.id && u.email === `vendor${i}.${suffix}@example.com` && u.username === `vendor${i}${suffix}`, JSON.stringify(u));
    check(JSON.stringify(u).indexOf(password) < 0, "the password is never answered");
    users.push(u);
  }
});
await step("groups.addUser by group id and user id", async () => {
  await admin.security.groups.addUser(group.id, users[0].id);
  check(await admin.security.groups.hasUser(group.id, users[0].id), "a member");
});
await step("groups.addUser by group name and username", async () => {
  await admin.security.groups.addUser(group.name, users[1].username);
  check(await admin.security.groups.hasUser(group.id, users[1].id), "a member");
});
await step("groups.addUser by group id and email", async () => {
  await admin.security.groups.addUser(group.id, users[2].email);
  check(await admin.security.groups.hasUser(group.name, users[2].email), "a member");
});
await step("groups.addUser again (idempotent)", async () => {
  await admin.security.groups.addUser(group.id, users[0].id);
});
await step("groups.addUsers (bulk of five)", async () => {
  await admin.security.groups.addUsers(group.id, users.slice(3, 8).map((u) => u.id));
  for (const u of users.slice(3, 8)) check(await admin.security.groups.hasUser(group.id, u.id), `${u.id} a member`);
  check(!(await admin.security.groups.hasUser(group.id, users[8].id)), "the ninth is not");
});
await step("groups.getUsersByGroupId (paged)", async () => {
  const page = await admin.security.groups.getUsersByGroupId(group.id, { pageOptions: { pageIndex: 0, pageSize: 5 } });
  check(page.totalCount === 8 && page.items.length === 5 && page.pageSize === 5 && page.pageIndex === 0, JSON.stringify(page));
  const next = await admin.security.groups.getUsersByGroupId(group.id, { pageOptions: { pageIndex: 1, pageSize: 5 } });
  const ids = new Set([...page.items, ...next.items].map((u) => u.id));
  check(ids.size === 8 && users.slice(0, 8).every((u) => ids.has(u.id)), "the two pages hold every member once");
});
await step("groups.removeUser", async () => {
  await admin.security.groups.removeUser(group.id, users[0].id);
  check(!(await admin.security.groups.hasUser(group.id, users[0].id)), "gone");
  const page = await admin.security.groups.getUsersByGroupName(group.name);
  check(page.totalCount === 7, JSON.stringify(page));
});
let passwordClient;
await step("contensis_classic sign-in (users.getById of oneself)", async () => {
  passwordClient = client(base, "contensis_classic", { username: users[1].username, password });
  const me = await passwordClient.security.users.getById(users[1].id);
  check(me.id === users[1].id, JSON.stringify(me));
  check(!!passwordClient.refreshToken, "a refresh token");
});
await step("contensis_classic_refresh_token sign-in", async () => {
  const refreshed = client(base, "contensis_classic_refresh_token", { refreshToken: passwordClient.refreshToken });
  const me = await refreshed.security.users.getByUsername(users[1].username);
  check(me.id === users[1].id, JSON.stringify(me));
  check(!!refreshed.refreshToken && refreshed.refreshToken !== passwordClient.refreshToken, "a new refresh token");
});
await step("rootUrl under /accounts/{id} (client credentials and password)", async () => {
  const scoped = client(`${base}/accounts/${account}`, "client_credentials", clientDetails);
  const g = await scoped.security.groups.getById(group.id);
  check(g.id === group.id, JSON.stringify(g));
  const scopedPassword = client(`${base}/accounts/${account}/`, "contensis_classic", { username: users[2].username, password });
  const me = await scopedPassword.security.users.getByEmail(users[2].email);
  check(me.id === users[2].id, JSON.stringify(me));
});
await step("a wrong secret: ContensisAuthenticationError invalid_client", async () => {
  const wrong = client(base, "client_credentials", { clientId: clientDetails.clientId, clientSecret: "not the secret" });
  await refused(wrong.security.groups.getById(group.id), "invalid_client");
});
await step("another account's base path: ContensisAuthenticationError invalid_client", async () => {
  const elsewhere = client(`${base}/accounts/00000000-0000-4000-8000-000000000000`, "client_credentials", clientDetails);
  await refused(elsewhere.security.groups.getById(group.id), "invalid_client");
});
await step("a wrong password: ContensisAuthenticationError invalid_grant", async () => {
  const wrong = client(base, "contensis_classic", { username: users[3].username, password: "not the password" });
  await refused(wrong.security.users.getById(users[3].id), "invalid_grant");
});
// Every other security method the client offers, each checked on what it returns.
await step("users.getCurrent", async () => {
  const me = await passwordClient.security.users.getCurrent();
  check(me.id === users[1].id && me.username === users[1].username, JSON.stringify(me));
});
await step("users.getById / getByEmail / getByUsername", async () => {
  const [a, b, c] = await Promise.all([
    admin.security.users.getById(users[4].id), admin.security.users.getByEmail(users[4].email), admin.security.users.getByUsername(users[4].username),
  ]);
  check(a.id === users[4].id && b.id === users[4].id && c.id === users[4].id, JSON.stringify([a, b, c]));
  check(a.status && a.status.suspended === false && typeof a.created === "string" && typeof a.modified === "string", JSON.stringify(a));
});
await step("users.list (paging, order, q)", async () => {
  const page = await admin.security.users.list({ pageOptions: { pageIndex: 0, pageSize: 3 }, order: ["-created"] });
  check(page.items.length === 3 && page.pageSize === 3 && page.totalCount >= 9, JSON.stringify(page));
  check(page.items[0].id === users[8].id, "newest first");
  const found = await admin.security.users.list({ q: `vendor5${suffix}` });
  check(found.totalCount === 1 && found.items[0].id === users[5].id, JSON.stringify(found));
  const byName = await admin.security.users.list({ q: suffix, order: ["lastName"], pageOptions: { pageSize: 100 } });
  check(byName.items.map((u) => u.lastName).join() === [...byName.items.map((u) => u.lastName)].sort().join(), "lastName order");
});
await step("users.list with zenQL is refused, not ignored", async () => {
  try {
    await admin.security.users.list({ zenQL: "firstName = 'nobody'" });
  } catch (e) {
    check(e.status === 400 && /not implemented/.test(e.data.message), JSON.stringify(e));
    return;
  }
  throw new Error("a zenQL filter was ignored");
});
await step("users.update (merge patch)", async () => {
  const u = await admin.security.users.getById(users[6].id);
  const updated = await admin.security.users.update({ ...u, firstName: "Changed", lastName: null, timezone: "Europe/London", custom: { team: "red" } });
  check(updated.firstName === "Changed" && updated.lastName === null && updated.timezone === "Europe/London" && updated.custom.team === "red", JSON.stringify(updated));
  const read = await admin.security.users.getById(users[6].id);
  check(read.firstName === "Changed" && read.email === u.email && read.custom.team === "red", JSON.stringify(read));
});
await step("users.updatePassword (one's own, with the existing one)", async () => {
  await passwordClient.security.users.updatePassword({ userId: users[1].id, existing: password, new: "a newer password" });
  const again = client(base, "contensis_classic", { username: users[1].username, password: "a newer password" });
  check((await again.security.users.getCurrent()).id === users[1].id, "signs in with the new password");
  await refused(client(base, "contensis_classic", { username: users[1].username, password }).security.users.getCurrent(), "invalid_grant");
});
await step("users.userIsMemberOf", async () => {
  check(await admin.security.users.userIsMemberOf(users[3].id, "System Administrators", group.name), "member of one of them");
  check(!(await admin.security.users.userIsMemberOf(users[8].id, group.name)), "not a member");
});
await step("users.getUserGroups (PagedList, paging, order)", async () => {
  const page = await admin.security.users.getUserGroups({ userId: users[3].id, pageOptions: { pageIndex: 0, pageSize: 10 }, order: ["-name"] });
  check(Array.isArray(page.items) && page.totalCount === 1 && page.items[0].id === group.id && page.items[0].type === "contensis", JSON.stringify(page));
  const plain = await admin.security.users.getUserGroups(users[3].id);
  check(plain.items.length === 1, JSON.stringify(plain));
});
await step("users.suspendUser / unsuspendUser", async () => {
  await admin.security.users.suspendUser(users[7].id);
  check((await admin.security.users.getById(users[7].id)).status.suspended === true, "suspended");
  await refused(client(base, "contensis_classic", { username: users[7].username, password }).security.users.getCurrent(), "invalid_grant");
  await admin.security.users.unsuspendUser(users[7].id);
  const back = client(base, "contensis_classic", { username: users[7].username, password });
  check((await back.security.users.getCurrent()).id === users[7].id, "signs in again");
});
await step("users.unlockUser / setPasswordToExpirable", async () => {
  for (let i = 0; i < 5; i++) {
    await refused(client(base, "contensis_classic", { username: users[8].username, password: "wrong" }).security.users.getCurrent(), "invalid_grant");
  }
  check((await admin.security.users.getById(users[8].id)).status.locked === true, "locked after five failures");
  await admin.security.users.unlockUser(users[8].id);
  check((await admin.security.users.getById(users[8].id)).status.locked === false, "unlocked");
  await admin.security.users.setPasswordToExpirable(users[8].id);
});
await step("users.create suspended", async () => {
  const u = await admin.security.users.create({ username: `held${suffix}`, email: `held.${suffix}@example.com` }, true);
  check(u.status.suspended === true, JSON.stringify(u));
});
await step("groups.getByName / list (PagedList, q, order) / update", async () => {
  const byName = await admin.security.groups.getByName(group.name);
  check(byName.id === group.id && byName.type === "contensis", JSON.stringify(byName));
  const sys = await admin.security.groups.getByName("System Administrators");
  check(sys.type === "sys", JSON.stringify(sys));
  const page = await admin.security.groups.list({ q: suffix, pageOptions: { pageIndex: 0, pageSize: 10 }, order: ["-name"] });
  check(page.totalCount === 1 && page.items[0].id === group.id, JSON.stringify(page));
  const updated = await admin.security.groups.update({ ...byName, description: "updated by the client" });
  check(updated.description === "updated by the client" && updated.name === group.name, JSON.stringify(updated));
});
await step("groups.addChildGroup / addChildGroups / child listings / removeChildGroup", async () => {
  const children = [];
  for (const n of ["a", "b", "c"]) children.push(await admin.security.groups.create({ name: `Child ${n} ${suffix}`, description: "" }));
  await admin.security.groups.addChildGroup(group.id, children[0].id);
  await admin.security.groups.addChildGroups(group.id, [children[1].id, children[2].id]);
  const page = await admin.security.groups.getChildGroupsByGroupId(group.id, { pageOptions: { pageIndex: 0, pageSize: 2 }, order: ["name"] });
  check(page.totalCount === 3 && page.items.length === 2 && page.items[0].id === children[0].id, JSON.stringify(page));
  const byName = await admin.security.groups.getChildGroupsByGroupName(group.name, { includeSelf: true });
  check(byName.totalCount === 4, JSON.stringify(byName));
  await admin.security.groups.addUser(children[2].id, users[8].id);
  const inherited = await admin.security.groups.getUsersByGroupId(group.id, { includeInherited: true, pageOptions: { pageSize: 50 } });
  check(inherited.items.some((u) => u.id === users[8].id), "a member through a child group");
  const pruned = await admin.security.groups.getUsersByGroupId(group.id, { includeInherited: true, excludedGroups: [children[2].id], pageOptions: { pageSize: 50 } });
  check(!pruned.items.some((u) => u.id === users[8].id), "excludedGroups leaves it out");
  await admin.security.groups.removeChildGroup(group.id, children[0].id);
  check((await admin.security.groups.getChildGroupsByGroupId(group.id)).totalCount === 2, "removed");
});
await step("users.search (the client's query builder)", async () => {
  const byName = await admin.security.users.search(new Query(Op.equalTo("userName", users[2].username.toUpperCase())));
  check(byName.totalCount === 1 && byName.items[0].id === users[2].id, JSON.stringify(byName));
  const query = new Query(Op.and(Op.startsWith("userName", "vendor"), Op.endsWith("email", `${suffix}@example.com`)), Op.not(Op.equalTo("firstName", "Changed")));
  query.orderBy = OrderBy.desc("lastName");
  query.pageSize = 3;
  const page = await admin.security.users.search(query);
  check(page.totalCount === 8 && page.items.length === 3 && page.pageSize === 3, JSON.stringify(page));
  check(page.items[0].lastName === "User 8", "lastName descending: " + page.items.map((u) => u.lastName));
  const either = await admin.security.users.search(new Query(Op.or(Op.equalTo("email", users[0].email), Op.in("userName", users[1].username, users[3].username))));
  check(either.totalCount === 3, JSON.stringify(either));
  try {
    await admin.security.users.search(new Query(Op.freeText("email", "vendor")));
  } catch (e) {
    check(e.status === 400 && /not implemented/.test(e.data.message), JSON.stringify(e));
    return;
  }
  throw new Error("freeText was ignored");
});
await step("users.delete", async () => {
  await admin.security.users.delete(users[5].id);
  try {
    await admin.security.users.getById(users[5].id);
  } catch (e) {
    check(e.status === 404, JSON.stringify(e));
    return;
  }
  throw new Error("the user is still there");
});
await step("groups.delete", async () => {
  await admin.security.groups.delete(group.id);
  try {
    await admin.security.groups.getById(group.id);
  } catch (e) {
    check(e.status === 404, JSON.stringify(e));
    return;
  }
  throw new Error("the group is still there");
});

const failed = results.filter((r) => r.result !== "pass");
for (const r of results) console.log(`${r.result === "pass" ? "pass" : "FAIL"}  ${r.step}${r.why ? `: ${r.why}` : ""}`);
console.log(`vendor client contensis-management-api: ${results.length - failed.length}/${results.length} steps passed`);
if (failed.length) process.exit(1);
