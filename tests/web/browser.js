// browser.js — opsledger-web's pages in headless Chromium (playwright-core):
// per role, sign in through the form, open every page the role may open,
// check that the figures shown equal the API's, that finance sees no leave
// kind and ops no money, that no console error occurs and no request leaves
// the origin; a screenshot of each page goes to OUT_DIR.
// Usage: node browser.js URL TOKENS_DIR OUT_DIR   (exit 1 when a check failed)
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [url, tokensDir, outDir] = process.argv.slice(2);
const origin = new URL(url).origin;
const tokens = {};
for (const r of ['exec', 'ops', 'finance'])
  tokens[r] = fs.readFileSync(path.join(tokensDir, 'token.' + r), 'utf8').trim();
let failed = 0;
function check(msg, ok) {
  console.log((ok ? 'ok   - ' : 'FAIL - ') + msg);
  if (!ok) failed++;
}
async function api(p, role = 'exec') {
  const r = await fetch(origin + '/api/v1/' + p, { headers: { Authorization: 'Bearer ' + tokens[role] } });
  return r.status === 200 ? r.json() : null;
}
// a basis-point figure as the pages print it (common/ol_format: 8436 -> "84.36%")
function pct(bp) {
  if (bp === null || bp === undefined) return '-';
  const a = Math.abs(bp);
  return (bp < 0 ? '-' : '') + Math.trunc(a / 100) + '.' + String(a % 100).padStart(2, '0') + '%';
}

(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  // the current week: the latest with an org utilisation row
  const weeks = (await api('weeks')).items.map((w) => w.week);
  let cur = null;
  for (let i = weeks.length - 1; i >= 0 && !cur; i--) {
    const u = await api('utilisation?scope=org&week=' + weeks[i]);
    if (u && u.items.length) cur = weeks[i];
  }
  check('the API names a current week (' + cur + ')', !!cur);
  const teams = (await api('utilisation?scope=team&week=' + cur)).items;
  const status = (await api('delivery?week=' + cur)).items;
  const prev = weeks[weeks.indexOf(cur) - 1];
  const missing = (await api('missing?week=' + prev)).items.filter((m) => m.missing_minutes > 0);
  const line = (await api('billing?week=' + cur)).items[0];
  const pages = ['/', '/utilisation', '/utilisation?team=' + encodeURIComponent(teams[0].scope_id),
    '/person?id=p-0003', '/engagement?id=e-01', '/billing', '/billing/line?key=' + encodeURIComponent(line.key),
    '/contractors', '/forecast', '/demand', '/delivery', '/cover', '/weekly'];

  for (const role of ['exec', 'ops', 'finance']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olw-chromium-'));
    const ctx = await chromium.launchPersistentContext(dir, {
      executablePath: '/usr/bin/chromium', headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run'],
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = [], outside = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) outside.push(r.url()); });
    await page.goto(url + 'login');
    await page.fill('input[name=token]', tokens[role]);
    await Promise.all([page.waitForNavigation(), page.click('button')]);
    check(role + ' signs in through the form', new URL(page.url()).pathname === '/');
    const cookies = await ctx.cookies();
    const c = cookies.find((k) => k.name === 'olw_session');
    check(role + ': the session cookie is HttpOnly and SameSite=Strict', c && c.httpOnly && c.sameSite === 'Strict');
    for (const p of pages) {
      const resp = await page.goto(origin + p);
      const name = role + p.replace(/[^a-z0-9]+/gi, '_');
      const forbidden = role === 'ops' && (p.startsWith('/billing') || p === '/contractors');
      if (forbidden) {
        check(role + ' ' + p + ' is 403', resp.status() === 403);
        await page.waitForTimeout(50);
        while (errors.length && /403/.test(errors[errors.length - 1])) errors.pop(); /* the 403 itself */
        continue;
      }
      check(role + ' ' + p + ' is 200', resp.status() === 200);
      await page.screenshot({ path: path.join(outDir, name + '.png'), fullPage: true });
      const text = await page.evaluate(() => document.body.innerText);
      const injected = await page.evaluate(() => document.querySelectorAll('script, img, iframe, object, embed').length);
      check(role + ' ' + p + ': no injected element in the DOM', injected === 0);
      if (role === 'ops') check(role + ' ' + p + ': no money shown', !/\b[A-Z]{3} -?[\d,]+\.\d\d\b/.test(text));
      if (role === 'finance') check(role + ' ' + p + ': no leave kind shown', !/\b(SICK|SICKNESS|ANNUAL|PARENTAL)\b/.test(text));
      if (p === '/') {
        const n = (id) => page.textContent('#' + id).then((t) => t.trim());
        const rag = (r) => String(status.filter((s) => s.rag === r).length);
        check(role + ' home: RAG counts equal the API\'s', await n('rag-red') === rag('RED') &&
          await n('rag-amber') === rag('AMBER') && await n('rag-green') === rag('GREEN'));
        check(role + ' home: missing timesheets equal the API\'s', await n('missing-people') === String(missing.length));
      }
      if (p === '/utilisation') {
        const cells = await page.$$eval('table tr', (rows) => rows.slice(1).map((r) =>
          [r.cells[0].innerText.trim(), r.cells[2].innerText.trim()]));
        const want = teams.map((t) => [t.scope_id, pct(t.utilisation_bp)]);
        check(role + ' utilisation: every team\'s figure equals the API\'s', JSON.stringify(cells) === JSON.stringify(want));
      }
    }
    check(role + ': no console error (' + errors.slice(0, 3).join(' | ') + ')', errors.length === 0);
    check(role + ': no request left the origin (' + outside.slice(0, 3).join(' ') + ')', outside.length === 0);
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log('FAIL - ' + e); process.exit(1); });
