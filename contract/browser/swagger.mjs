// Opens Swagger UI in Debian's headless Chromium, authorizes with a real
// token, expands the v1 bulk add, tries it out with two ids and expects 201.
// Saves a screenshot; fails if the page asks any host but the server.
// Environment: ROLLCALL_URL, ROLLCALL_TOKEN, ROLLCALL_ACCOUNT, SCREENSHOT.
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
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 2200 } });
  const origin = new URL(base).origin;
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) foreign.push(url);
  });

  await page.goto(`${base}/swagger-ui/`);
  await page.locator(".swagger-ui .info .title").waitFor();

  await page.locator(".scheme-container button.authorize").click();
  const modal = page.locator(".modal-ux");
  await modal.locator(".auth-container", { hasText: "bearerAuth" }).locator("input").fill(process.env.ROLLCALL_TOKEN);
  await modal.locator(".auth-container", { hasText: "accountId" }).locator("input").fill(process.env.ROLLCALL_ACCOUNT);
  for (const name of ["bearerAuth", "accountId"]) {
    await modal.locator(".auth-container", { hasText: name }).locator("button.authorize").click();
  }
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
  if (foreign.length) throw new Error(`the page called other hosts: ${foreign.join(", ")}`);
  console.log(`swagger ui: authorized, tried PUT /v1/groups/{groupId}/users with two ids, saw ${code}; no foreign requests; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
