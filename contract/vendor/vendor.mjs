// The vendor's own published client (npm contensis-management-api, pinned)
// against a live Rollcall: it signs in with client credentials, with a
// username and password and with a refresh token, at the root and under the
// account's base path, and runs the documents' scenario through its own
// methods. Every step asserts on what the client returns; a failing step
// fails the run. Environment: ROLLCALL_URL, ROLLCALL_ACCOUNT,
// ROLLCALL_KEY_ID, ROLLCALL_KEY_SECRET.
import { Client } from "contensis-management-api";
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
