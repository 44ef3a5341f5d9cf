// The browser half of e2e/ui (run.sh sets up the appliance): Debian's
// chromium driven by playwright-core, acting as an operator would, and
// checking what the page shows. Timings of the two large views are
// printed (first render, scroll to the end) and the run fails when the
// lists stop being virtual (more rows in the document than a few screens).
'use strict';
const path = require('path');
const { execFileSync, execSync } = require('child_process');

const tools = process.env.EDGECD_BINARY_DIR + '/tools/playwright/node_modules/playwright-core';
const { chromium, request } = require(tools);

const server = process.env.EDGECD_SERVER;
const token = process.env.EDGECD_TOKEN;
const out = process.env.EDGECD_UI_OUT;
const repo = process.env.EDGECD_UI_REPO;
const viewport = { width: 1280, height: 800 };
const T = 60000;

function step(s) { console.log(`== ${s}`); }
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}
function kubectl(args) {
  return execSync(`${process.env.EDGECD_UI_KUBECTL} ${args}`, { encoding: 'utf8' });
}
function commit(msg) {
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=e2e', '-c', 'user.email=e2e@edgecd.invalid', 'commit', '-q', '-m', msg]);
  return execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
}
async function waitFor(what, fn, ms = T) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await fn()) { console.log(`ok: ${what}`); return; } } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000}s waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(out, `${name}.png`) });
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.EDGECD_UI_CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  // The test's own API calls, each on a connection closed right after:
  // the browser is then the only client holding connections (the server
  // limits them per address, and a browser keeps up to six).
  async function apiCall(method, p, body, bearer = token) {
    const c = await request.newContext({ baseURL: server, ignoreHTTPSErrors: true, extraHTTPHeaders: { Authorization: `Bearer ${bearer}`, Connection: 'close' } });
    try {
      const r = await c.fetch(p, { method, data: body });
      return { status: r.status(), ok: r.ok() };
    } finally {
      await c.dispose();
    }
  }
  const sessions = (await apiCall('GET', '/api/v1/session/userinfo')).status !== 404;
  const xssTrap = [];

  // A browser context signed in as user: through the login page when the
  // server has accounts; else with the API token on every request (a
  // server without sessions).
  async function signedIn(user, password, more = {}) {
    const opts = { baseURL: server, ignoreHTTPSErrors: true, viewport, ...more };
    if (!sessions) opts.extraHTTPHeaders = { Authorization: `Bearer ${token}` };
    const ctx = await browser.newContext(opts);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => xssTrap.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) console.log(`browser console: ${m.text()}`); });
    if (sessions) {
      await page.goto('/applications');
      await page.waitForURL(/\/login/);
      await shot(page, 'login');
      await page.fill('#login-username', user);
      await page.fill('#login-password', 'wrong password');
      await page.click('button[type=submit]');
      await page.waitForSelector('.login .error:not(:empty)');
      check(await page.locator('.login .error').textContent() !== '', 'a wrong password is refused on the login page');
      // After a failed login the server may ask for a pause (429 with
      // Retry-After): the page says so and enables the button again when
      // it is over.
      for (let i = 0; ; i++) {
        await page.fill('#login-password', password);
        await page.click('button[type=submit]:not([disabled])', { timeout: T });
        try {
          await page.waitForURL(/\/applications/, { timeout: 5000 });
          break;
        } catch (e) {
          const msg = await page.locator('.login .error').textContent();
          if (i === 5 || !/try again/.test(msg)) throw new Error(`${user} cannot sign in: ${msg}`);
          console.log(`login throttled: ${msg}`);
        }
      }
      console.log(`ok: ${user} signs in`);
    }
    return { ctx, page };
  }

  step('log in; see the applications');
  const { ctx: mainCtx, page } = await signedIn('admin', process.env.EDGECD_UI_ADMIN_PASSWORD);
  await page.goto('/applications?q=shop');
  await page.waitForSelector('.app-row[data-app="shop"]', { timeout: T });
  check(await page.locator('.app-row[data-app="shop"] .badge').first().textContent() === 'OutOfSync', 'shop is listed OutOfSync before its first sync');
  await shot(page, 'applications-tiles');
  await page.click('.seg button[data-view="table"]');
  await page.waitForSelector('a.trow.app-row[data-app="shop"]');
  await shot(page, 'applications-table');

  step('filters and search');
  await page.fill('input.search', 'bulk-042');
  await waitFor('search leaves one application', async () => (await page.locator('.app-row').count()) === 1 &&
    (await page.locator('.app-row').getAttribute('data-app')) === 'bulk-042');
  await page.fill('input.search', '');
  await page.selectOption('select[aria-label="Sync"]', 'Synced');
  await waitFor('no app is Synced yet', async () => (await page.locator('.app-row').count()) === 0);
  await page.selectOption('select[aria-label="Sync"]', '');
  await page.fill('input.search', 'shop');

  step('open shop from the keyboard; markup in an annotation is shown as text');
  await page.focus('.app-row[data-app="shop"]');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/applications\/shop$/);
  await page.waitForSelector('.tree-row[data-name="shop-config"]', { timeout: T });
  await page.focus('.tree-row[data-name="shop-config"]');
  await page.waitForTimeout(3500); // a live refresh of the tree (every 3 s) happens meanwhile
  check(await page.evaluate(() => document.activeElement.dataset.name) === 'shop-config', 'the focused row keeps the focus through a live refresh');
  await page.keyboard.press('Enter');
  await page.click('.panel .tab:has-text("Diff")');
  await page.waitForSelector('.panel pre.diff', { timeout: T });
  const diffText = await page.locator('.panel pre.diff').textContent();
  check(diffText.includes('<img src=x onerror=window.__xss=1><b>bold</b>'), 'the annotation with markup appears as its literal text');
  check(!diffText.includes('Deployment'), "the panel's diff is this object's only");
  check(await page.locator('.panel img, .panel b').count() === 0, 'no element was made from that markup');
  check(await page.evaluate(() => window.__xss === undefined), 'its onerror never ran');
  await shot(page, 'resource-panel');
  await page.keyboard.press('Escape');
  check(await page.locator('.panel').count() === 0, 'Escape closes the panel');

  async function syncFromDialog() {
    await page.click('.actions button:has-text("Sync")');
    await page.waitForSelector('form.dialog');
    await page.keyboard.press('Escape');
    check(await page.locator('form.dialog').count() === 0, 'Escape closes the sync dialog');
    await page.click('.actions button:has-text("Sync")');
    await shot(page, 'sync-dialog');
    await page.click('form.dialog button[type=submit]');
    await page.waitForSelector('form.dialog', { state: 'detached' });
  }
  async function waitSyncedHealthy(what) {
    await waitFor(what, async () => {
      const t = await page.locator('.app-status').textContent();
      return t.includes('Synced') && !t.includes('OutOfSync') && t.includes('Healthy');
    });
  }

  step('sync; Synced and Healthy');
  await syncFromDialog();
  await waitSyncedHealthy('shop shows Synced and Healthy after the sync');
  check(JSON.parse(kubectl('get configmap shop-config -n shop -o json')).data.color === 'blue', 'the cluster has the ConfigMap');
  const first = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  await shot(page, 'application-detail');

  step('live and desired YAML; a pod, its live YAML and its logs');
  const pod = page.locator('.tree-row[data-kind="Pod"]').first();
  if (await pod.count()) {
    await page.click('.tree-row[data-name="shop-config"]');
    await page.click('.panel .tab:has-text("Desired")');
    await waitFor('the desired YAML of the ConfigMap', async () => (await page.locator('.panel pre.yaml').textContent()).includes('color: blue'));
    await page.click('.panel .tab:has-text("Live")');
    await waitFor('its live YAML', async () => /resourceVersion|uid:/.test(await page.locator('.panel pre.yaml').textContent()));
    await page.keyboard.press('Escape');
    await pod.click();
    await waitFor("the pod's live YAML", async () => (await page.locator('.panel pre.yaml').textContent()).includes('kind: Pod'));
    await page.click('.panel .tab:has-text("Logs")');
    await waitFor('log lines arrive', async () => (await page.locator('.panel pre.logs').textContent()).trim().length > 0);
    check(!(await page.locator('.panel').textContent()).includes('Loading…'), 'nothing is left loading');
    await shot(page, 'pod-logs');
    await page.keyboard.press('Escape');
  } else {
    console.log('NOT CHECKED: this server has no /resource-tree (no live children such as pods)');
  }

  step('a commit turns the app OutOfSync live in the list');
  await page.click('a.brand');
  await page.fill('input.search', 'shop');
  await page.waitForSelector('.app-row[data-app="shop"]');
  await waitFor('shop Synced in the list', async () => (await page.locator('.app-row[data-app="shop"]').textContent()).includes('Synced'));
  const fs = require('fs');
  const cm = path.join(repo, 'shop/configmap.yaml');
  const dep = path.join(repo, 'shop/deployment.yaml');
  fs.writeFileSync(cm, fs.readFileSync(cm, 'utf8').replace('color: blue', 'color: green'));
  fs.writeFileSync(dep, fs.readFileSync(dep, 'utf8').replace('web:1.0', 'web:1.1'));
  const second = commit('green, web 1.1');
  const t0 = Date.now();
  await waitFor('shop turns OutOfSync without a reload', async () => (await page.locator('.app-row[data-app="shop"]').textContent()).includes('OutOfSync'));
  console.log(`measured: OutOfSync shown ${Date.now() - t0} ms after the commit`);

  step('the diff shows the change');
  await page.click('.app-row[data-app="shop"]');
  await page.waitForSelector('.tree-row[data-name="shop-config"]');
  await page.click('.tree-row[data-name="shop-config"]');
  await page.click('.panel .tab:has-text("Diff")');
  await page.waitForSelector('.panel pre.diff .line.add');
  // One side is Git (green), the other the cluster (blue); the header
  // lines name which is which.
  const changed = [...await page.locator('.panel pre.diff .line.del').allTextContents(),
    ...await page.locator('.panel pre.diff .line.add').allTextContents()].join('\n');
  check(changed.includes('color: blue') && changed.includes('color: green'), 'the diff marks color: blue and color: green as the change');
  check(await page.locator('.panel pre.diff .line.hdr').count() === 2, 'the diff names its two sides, of this object only');
  await shot(page, 'diff');
  await page.keyboard.press('Escape');

  // The sync dialog with options: set(page) ticks what it needs; a
  // submission refused because the last operation still runs is retried.
  async function syncWith(set) {
    await page.click('.actions button:has-text("Sync")');
    await page.waitForSelector('form.dialog');
    await set();
    for (let i = 0; ; i++) {
      await page.click('form.dialog button[type=submit]');
      try {
        await page.waitForSelector('form.dialog', { state: 'detached', timeout: 3000 });
        return;
      } catch (e) {
        if (i === 10) throw e;
      }
    }
  }
  const image = () => JSON.parse(kubectl('get deployment web -n shop -o json')).spec.template.spec.containers[0].image;
  const color = () => JSON.parse(kubectl('get configmap shop-config -n shop -o json')).data.color;

  step('a dry run changes nothing');
  await syncWith(() => page.check('form.dialog input[name=dryRun]'));
  await page.waitForTimeout(3000);
  check(color() === 'blue' && image() === 'registry.local/web:1.0', 'after the dry run the cluster is as it was');

  step('syncing selected resources only');
  await syncWith(async () => {
    await page.uncheck('form.dialog input[name=all]');
    await page.check('form.dialog input[data-res="ConfigMap/shop/shop-config"]');
  });
  await waitFor('the ConfigMap is synced (color green)', async () => color() === 'green');
  check(image() === 'registry.local/web:1.0', 'the Deployment, not selected, kept its image');
  check((await page.locator('.app-status').textContent()).includes('OutOfSync'), 'the app stays OutOfSync');

  step('sync again');
  await syncFromDialog();
  await waitSyncedHealthy('shop Synced and Healthy at the new commit');
  await waitFor('the Deployment has the new image', async () => image() === 'registry.local/web:1.1');

  step('roll back to the first sync');
  await page.click('.tabs .tab:has-text("History")');
  await page.waitForSelector('.history table');
  const revs = await page.locator('.history tbody td.mono').evaluateAll((tds) => tds.map((td) => td.title));
  check(revs[0] === second && revs.includes(first), 'history lists both syncs, newest first');
  await shot(page, 'history');
  const row = page.locator('.history tbody tr').filter({ has: page.locator(`td.mono[title="${first}"]`) });
  await row.locator('button:has-text("Rollback")').click();
  await page.click('form.dialog button[type=submit]');
  await waitFor('the rollback brings color blue back to the cluster', async () => JSON.parse(kubectl('get configmap shop-config -n shop -o json')).data.color === 'blue');

  step('theme toggle');
  const before = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.click('button[aria-label="Switch light/dark theme"]');
  const after = await page.evaluate(() => document.documentElement.dataset.theme);
  check(before !== after, `the toggle switches the theme (${before} → ${after})`);
  await shot(page, `application-detail-${after}`);

  step('500 applications: only the rows on screen are drawn');
  await page.goto('/applications');
  let t = Date.now();
  await page.waitForSelector('.app-row');
  const firstRender = Date.now() - t;
  const total = await page.locator('.count').textContent();
  check(/^502 of 502/.test(total), `all applications are counted (${total})`);
  const inDom = await page.locator('.app-row').count();
  check(inDom > 5 && inDom < 100, `only ${inDom} of 502 rows are in the document`);
  t = Date.now();
  await page.evaluate(() => { const v = document.querySelector('.vlist'); v.scrollTop = v.scrollHeight; });
  await page.waitForSelector('.app-row[data-app="shop"]');
  const scroll = Date.now() - t;
  console.log(`measured: 502-app list first render ${firstRender} ms (load included), scroll to the end ${scroll} ms`);
  await shot(page, 'applications-500');

  step('an application with 2,000 resources');
  t = Date.now();
  await page.goto('/applications/big');
  await page.waitForSelector('.tree-row[data-name="cm-0001"]', { timeout: T });
  const treeRender = Date.now() - t;
  await waitFor('2000 resources counted', async () => (await page.locator('.tree-pane .count').textContent()).startsWith('2000 resources'));
  const treeDom = await page.locator('.tree-row').count();
  check(treeDom < 120, `only ${treeDom} of 2001 tree rows are in the document`);
  t = Date.now();
  await page.evaluate(() => { const v = document.querySelector('.tree'); v.scrollTop = v.scrollHeight; });
  await page.waitForSelector('.tree-row[data-name="cm-2000"]');
  const treeScroll = Date.now() - t;
  console.log(`measured: 2,000-resource tree first render ${treeRender} ms (load included), scroll to the end ${treeScroll} ms`);
  await shot(page, 'application-2000-resources');

  step('settings: repositories, projects, clusters');
  await page.goto('/settings/repositories');
  await page.waitForSelector('.settings h1');
  if ((await apiCall('GET', '/api/v1/repositories')).status !== 404) {
    await page.click('.page-head button:has-text("Add")');
    await page.fill('form.dialog input[name=repo]', 'https://git.invalid/site.git');
    await page.fill('form.dialog input[name=username]', 'deploy');
    await page.fill('form.dialog input[name=password]', 'pw-never-shown-42');
    await page.click('form.dialog button[type=submit]');
    const repoRow = page.locator('tbody tr').filter({ hasText: 'https://git.invalid/site.git' });
    await repoRow.waitFor();
    check((await repoRow.textContent()).includes('deploy'), 'the added repository is listed with its user');
    await shot(page, 'settings-repositories');
    await page.reload();
    await repoRow.waitFor();
    check(!(await page.content()).includes('pw-never-shown-42'), 'its password is nowhere in the page');
    await repoRow.locator('button:has-text("Test")').click();
    await page.waitForSelector('.toast');
    check(/Failed/.test(await page.locator('.toast').first().textContent()), 'testing an unreachable repository says Failed');
    await repoRow.locator('button:has-text("Remove")').click();
    await page.click('form.dialog button[type=submit]');
    await repoRow.waitFor({ state: 'detached' });
    console.log('ok: the repository is removed');

    await page.click('nav.side a:has-text("Projects")');
    await page.click('.page-head button:has-text("Add")');
    await page.fill('form.dialog input[name=name]', 'team-a');
    await page.fill('form.dialog input[name=description]', '<i>markup</i> in a description');
    await page.click('form.dialog button[type=submit]');
    const projRow = page.locator('tbody tr').filter({ hasText: 'team-a' });
    await projRow.waitFor();
    check((await projRow.textContent()).includes('<i>markup</i> in a description') && await projRow.locator('i').count() === 0, 'the new project is listed, its description as text');
    await shot(page, 'settings-projects');
    await projRow.locator('button:has-text("Remove")').click();
    await page.click('form.dialog button[type=submit]');
    await projRow.waitFor({ state: 'detached' });
    console.log('ok: the project is deleted');

    await page.click('nav.side a:has-text("Clusters")');
    const clusterRow = page.locator('tbody tr').first();
    await clusterRow.waitFor();
    await clusterRow.locator('button:has-text("Test")').click();
    await waitFor('testing the cluster says Successful', async () => /Successful/.test(await page.locator('.toast').last().textContent()));
    check(await clusterRow.locator('button:has-text("Remove")').count() === 0, "the site config's cluster has no Remove control");
    // add a cluster by pasting a kubeconfig: kubesim's own, whose server
    // is not the config cluster's name for it
    const kubeconfig = require('fs').readFileSync(process.env.EDGECD_UI_KUBECONFIG, 'utf8');
    const kubeToken = /token: (\S+)/.exec(kubeconfig)[1];
    await page.click('.page-head button:has-text("Add")');
    await page.fill('form.dialog input[name=name]', 'edge-lab');
    await page.fill('form.dialog textarea[name=kubeconfig]', kubeconfig);
    await page.click('form.dialog button[type=submit]');
    const labRow = page.locator('tbody tr').filter({ hasText: 'edge-lab' });
    await labRow.waitFor();
    check((await labRow.textContent()).includes('added'), 'the pasted cluster is listed as added');
    await labRow.locator('button:has-text("Test")').click();
    await waitFor('testing the added cluster says Successful', async () => /edge-lab: Successful/.test(await page.locator('.toast').last().textContent()));
    await shot(page, 'settings-clusters');
    await page.reload();
    await labRow.waitFor();
    check(!(await page.content()).includes(kubeToken), "the added cluster's token is nowhere in the page");
    await labRow.locator('button:has-text("Remove")').click();
    await page.click('form.dialog button[type=submit]');
    await labRow.waitFor({ state: 'detached' });
    console.log('ok: the added cluster is removed');
  } else {
    console.log('NOT CHECKED: this server has no settings routes (/api/v1/repositories)');
    await shot(page, 'settings');
  }

  // One browser at a time from here: each holds its own connections, and
  // the server may limit connections per client address.
  await mainCtx.close();

  step('a 10-inch tablet in portrait, with the system in dark mode');
  const tablet = await signedIn('admin', process.env.EDGECD_UI_ADMIN_PASSWORD, { viewport: { width: 800, height: 1280 }, colorScheme: 'dark', hasTouch: true });
  await tablet.page.goto('/applications/shop');
  await tablet.page.waitForSelector('.tree-row[data-name="web"]');
  check(await tablet.page.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'the theme follows the system (dark)');
  check(await tablet.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'nothing overflows the 800 px width');
  await shot(tablet.page, 'tablet-application-detail');
  await tablet.page.goto('/applications');
  await tablet.page.waitForSelector('.app-row');
  check(await tablet.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the list fits the 800 px width');
  await shot(tablet.page, 'tablet-applications');
  await tablet.ctx.close();

  step('a read-only user cannot sync');
  if (sessions) {
    const r = await apiCall('POST', '/api/v1/account', { name: 'viewer', password: 'viewer-password-1', roles: ['role:readonly'] });
    check(r.ok, `an admin creates a read-only account (${r.status})`);
    const v = await signedIn('viewer', 'viewer-password-1');
    await v.page.goto('/applications/shop');
    await v.page.waitForSelector('.app-status .badge');
    await v.page.waitForSelector('.actions button:has-text("Refresh")');
    check(await v.page.locator('.actions button:has-text("Sync")').count() === 0, 'no Sync button for the read-only user');
    check(await v.page.locator('.actions button:has-text("Delete")').count() === 0, 'no Delete button for the read-only user');
    const status = await v.page.evaluate(async () => {
      const u = await (await fetch('/api/v1/session/userinfo')).json();
      const res = await fetch('/api/v1/applications/shop/sync', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': u.csrfToken }, body: '{}' });
      return res.status;
    });
    check(status === 403, `the API refuses the read-only user's sync (${status})`);
    await shot(v.page, 'read-only');
    await v.page.goto('/settings/accounts');
    await v.page.locator('tbody tr').filter({ hasText: 'viewer' }).waitFor();
    check(await v.page.locator('.page-head button').count() === 0, 'no Add account button for the read-only user');
    await shot(v.page, 'settings-accounts-read-only');

    // A user makes an API token for themself: shown once, and it works.
    const mine = v.page.locator('tbody tr').filter({ hasText: 'viewer' });
    await mine.locator('button:has-text("New token")').click();
    await v.page.fill('form.dialog input[name=id]', 'ci');
    await v.page.click('form.dialog button[type=submit]');
    const shown = v.page.locator('form.dialog input[aria-label="New token"]');
    await shown.waitFor();
    const tok = await shown.inputValue();
    check(tok.length > 20, 'the new token is shown once');
    await v.page.click('form.dialog button[type=submit]');
    await v.page.locator('li[data-token="ci"]').waitFor();
    check((await apiCall('GET', '/api/v1/applications/shop', undefined, tok)).status === 200, 'the token reads an app');
    check((await apiCall('POST', '/api/v1/applications/shop/sync', {}, tok)).status === 403, 'and cannot sync it (read-only)');
    check(!(await v.page.content()).includes(tok), 'after the dialog the token is nowhere in the page');
    await v.ctx.close();
  } else {
    console.log('NOT CHECKED: this server has no accounts (no /api/v1/session): login and the read-only user need them');
  }

  check(xssTrap.length === 0, `no script error on any page${xssTrap.length ? `: ${xssTrap.join('; ')}` : ''}`);
  await browser.close();
})().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
