// Opens Swagger UI in Debian's headless Chromium and signs in through the
// Authorize dialog (oauth2): with an API key (client credentials), tries the
// v1 bulk add with two ids and expects 201; then with a username and
// password (password flow), reads that user and expects 200. No pasted
// token. Saves a screenshot; fails if the page asks any host but the server.
// Environment: ROLLCALL_URL, ROLLCALL_ACCOUNT, ROLLCALL_KEY_ID,
// ROLLCALL_KEY_SECRET, SCREENSHOT.
import { chromium } from "playwright-core";

const base = process.env.ROLLCALL_URL;
const screenshot = process.env.SCREENSHOT;
// The documents' example group and two of its example users (rollcall seed-examples).
const groupId = "6254736c-70e1-43b0-b769-f8e0f6359862";
const body = JSON.stringify(["7c9e6679-7425-40de-944b-e07fc1f90ae7", "f47ac10b-58cc-4372-a567-0e02b2c3d479"]);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const foreign = [];
// A user with a password for the password flow, made with the key's token.
const grant = await fetch(`${base}/authenticate/connect/token`, {
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ grant_type: "client_credentials", client_id: process.env.ROLLCALL_KEY_ID, client_secret: process.env.ROLLCALL_KEY_SECRET }),
});
if (!grant.ok) throw new Error(`client credentials grant: ${grant.status} ${await grant.text()}`);
const adminToken = (await grant.json()).access_token;
const username = `browser${Date.now()}`;
const password = "browser's long password";
const made = await fetch(`${base}/api/security/users`, {
  method: "POST",
  headers: { "Content-Type": "application/json", Authorization: `Bearer ${adminToken}` },
  body: JSON.stringify({ email: `${username}@example.com`, username, credentials: { password } }),
});
if (made.status !== 201) throw new Error(`create user: ${made.status} ${await made.text()}`);
const userId = (await made.json()).id;
const bearerSent = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 2200 } });
  const origin = new URL(base).origin;
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) foreign.push(url);
    const auth = request.headers()["authorization"];
    if (url.includes("/v1/") && auth) bearerSent.push(auth);
  });

  await page.goto(`${base}/swagger-ui/`);
  await page.locator(".swagger-ui .info .title").waitFor();

  // Sign in with the API key: the oauth2 scheme's client credentials flow.
  await page.locator(".scheme-container button.authorize").click();
  const modal = page.locator(".modal-ux");
  const clientFlow = modal.locator(".auth-container", { hasText: "Flow: clientCredentials" });
  await clientFlow.locator('input[data-name="clientId"]').fill(process.env.ROLLCALL_KEY_ID);
  await clientFlow.locator('input[data-name="clientSecret"]').fill(process.env.ROLLCALL_KEY_SECRET);
  await clientFlow.locator("button.authorize", { hasText: "Authorize" }).click();
  await clientFlow.locator("button", { hasText: "Logout" }).waitFor({ timeout: 10000 });
  const account = modal.locator(".auth-container", { hasText: "accountId" });
  await account.locator("input").fill(process.env.ROLLCALL_ACCOUNT);
  await account.getByRole("button", { name: "Apply credentials" }).click();
  await modal.locator("button.btn-done").first().click();

  const op = page.locator("#operations-Groups-v1_add_users_to_group");
  await op.locator(".opblock-summary").click();
  await op.locator("button.try-out__btn").click();
  await op.locator('input[placeholder="groupId"]').fill(groupId);
  await op.locator("textarea.body-param__text").fill(body);
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  const code = (await status.innerText()).trim();
  await op.scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshot, fullPage: true });
  if (!code.startsWith("201")) throw new Error(`Swagger UI showed ${code}, expected 201`);
  if (!bearerSent.some((a) => a.startsWith("Bearer ey"))) throw new Error(`no bearer token from the dialog was sent: ${bearerSent}`);

  // Sign out, and in again with a username and password: the password flow.
  await page.locator(".scheme-container button.authorize").click();
  await clientFlow.locator("button", { hasText: "Logout" }).click();
  const passwordFlow = modal.locator(".auth-container", { hasText: "Flow: password" });
  await passwordFlow.locator("#oauth_username").fill(username);
  await passwordFlow.locator("#oauth_password").fill(password);
  await passwordFlow.locator('input[data-name="clientId"]').fill("swagger-ui");
  await passwordFlow.locator("button.authorize", { hasText: "Authorize" }).click();
  await passwordFlow.locator("button", { hasText: "Logout" }).waitFor({ timeout: 15000 });
  await modal.locator("button.btn-done").first().click();
  const read = page.locator("#operations-Users-v1_get_user");
  await read.locator(".opblock-summary").click();
  await read.locator("button.try-out__btn").click();
  await read.locator('input[placeholder="id"]').fill(userId);
  await read.locator("button.execute").click();
  const readStatus = read.locator(".live-responses-table .response .response-col_status").first();
  await readStatus.waitFor();
  const readCode = (await readStatus.innerText()).trim();
  if (!readCode.startsWith("200")) throw new Error(`Swagger UI showed ${readCode} reading oneself after the password flow, expected 200`);
  // The SCIM surface is tried the same way: oneself as a SCIM User.
  const scim = page.locator(`[id$="-scim_get_user"]`);
  await scim.locator(".opblock-summary").click();
  await scim.locator("button.try-out__btn").click();
  await scim.locator('input[placeholder="id"]').fill(userId);
  await scim.locator("button.execute").click();
  const scimStatus = scim.locator(".live-responses-table .response .response-col_status").first();
  await scimStatus.waitFor();
  const scimCode = (await scimStatus.innerText()).trim();
  if (!scimCode.startsWith("200")) throw new Error(`Swagger UI showed ${scimCode} for GET /scim/v2/Users/{id}, expected 200`);
  if (foreign.length) throw new Error(`the page called other hosts: ${foreign.join(", ")}`);
  console.log(`swagger ui: signed in with an API key (client credentials), tried PUT /v1/groups/{groupId}/users with two ids, saw ${code}; signed in with a password, read oneself, saw ${readCode}, and as a SCIM User, saw ${scimCode}; no foreign requests; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
