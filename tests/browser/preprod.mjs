// The guided pre-production test run (docs/preprod.md) played by a tester in
// headless Chromium: the scenario list of `zorgrelay preprod-test`, each
// scenario's page, Start, Log in (relay -> mock TVS, the identity that
// scenario needs -> back), the result on the scenario page; then the SAML
// trace page and the report. Pages are found by the stable element ids of
// docs/preprod.md §6 and §7; each page of ours is checked with axe-core
// (serious or critical violations fail).
//
// Two phases, one node run each (tests/integration/test_browser_preprod.sh):
//   main     every scenario but session-expired, with a session lifetime no
//            browser login on a loaded machine comes near;
//   expired  after the script restarted the relay and preprod-test with a
//            lifetime of ZR_LIFETIME seconds (the results of main survive
//            in preprod-test's state file): session-expired, then the
//            report, which must now be complete with all 9 passed.
//
// Environment: ZR_PP, ZR_RELAY, ZR_TVS (base URLs), ZR_CHROMIUM,
// ZR_SCREENSHOTS (optional dir), ZR_PREPROD_PHASE (main or expired),
// ZR_LIFETIME (the relay's session lifetime in the expired phase).
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadStrings, foreignStrings, visibleText, mixedIn } from './mixed.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const axeSource = require('axe-core').source;

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k].replace(/\/$/, '');
};
const PP = env('ZR_PP');
const RELAY = env('ZR_RELAY');
const TVS = env('ZR_TVS');
const SHOTS = process.env.ZR_SCREENSHOTS || '';
const PHASE = process.env.ZR_PREPROD_PHASE || 'main';
const SCENARIOS = ['login-basic', 'login-substantial', 'login-high', 'cancel', 'loa-too-low', 'machtigen',
  'logout', 'session-expired', 'artifact-replay'];

// Issue 18 §2: no page mixes languages (tests/browser/mixed.mjs).
const STRINGS = loadStrings(env('ZR_TEMPLATES_DIR'));
const FOREIGN = { nl: foreignStrings(STRINGS.strings, 'nl'), en: foreignStrings(STRINGS.strings, 'en') };
const NAMES = ['Zorgaanbieder Demo (TEST)', 'Zorgaanbieder Demo', 'Demo patientportaal'];

let pass = 0;
let fail = 0;
const axeSummary = [];
function check(what, ok, detail = '') {
  if (ok) {
    pass++;
    console.log(`ok - ${what}`);
  } else {
    fail++;
    console.log(`not ok - ${what}${detail ? ': ' + detail : ''}`);
  }
}

// axe-core through the DevTools protocol (the pages' CSP allows no script
// of ours), WCAG 2.x A/AA and best practices, like tests/browser/walk.mjs.
async function axe(page) {
  return page.evaluate(async (src) => {
    if (!window.axe) (0, eval)(src);
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  }, axeSource);
}

// Language, one <main> and <h1>, axe-core; the screenshot when shot is set.
async function inspect(page, lang, name, { shot = false, expectText } = {}) {
  const label = `${lang} ${name}`;
  await page.waitForLoadState('load');
  if (SHOTS && shot) await page.screenshot({ path: join(SHOTS, `${lang}-${name}.png`), fullPage: false });
  // WCAG 2.1 reflow (1.4.10, issue 18 §3): no horizontal scrolling at 320
  // CSS px; a <pre> wraps or scrolls inside its own box.
  const size = page.viewportSize();
  await page.setViewportSize({ width: 320, height: size.height });
  const reflow = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth }));
  await page.setViewportSize(size);
  check(`${label}: no horizontal scrolling at 320 px`, reflow.scroll <= reflow.client, JSON.stringify(reflow));
  if (expectText) {
    const body = await page.locator('body').innerText();
    check(`${label}: shows "${expectText}"`, body.includes(expectText), body.slice(0, 200));
  }
  const s = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    main: document.querySelectorAll('main').length,
    h1: document.querySelectorAll('h1').length,
    title: document.title.length > 0,
  }));
  check(`${label}: <html lang="${lang}">, one <main>, one <h1>, a title`,
    s.lang === lang && s.main === 1 && s.h1 === 1 && s.title, JSON.stringify(s));
  const mixed = mixedIn(await page.evaluate(visibleText), FOREIGN[s.lang] || [], NAMES);
  check(`${label}: no text of another language`, mixed.length === 0,
    mixed.slice(0, 3).map((f) => `${f.lang}: "${f.text}"`).join('; '));
  const result = await axe(page);
  axeSummary.push({ page: label, violations: result });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(`${label}: axe-core finds no serious or critical violations`, bad.length === 0,
    bad.map((v) => `${v.id} (${v.impact}, ${v.nodes})`).join(', '));
  const minor = result.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`# ${label}: axe minor/moderate: ${minor.map((v) => `${v.id} (${v.impact})`).join(', ')}`);
}

async function click(page, locator, urlPredicate) {
  await Promise.all([
    urlPredicate ? page.waitForURL(urlPredicate, { timeout: 30000 }) : page.waitForNavigation({ waitUntil: 'load' }),
    locator.click(),
  ]);
}

const scenarioUrl = (id) => (u) => u.origin === new URL(PP).origin && u.pathname === '/scenario' &&
  u.searchParams.get('s') === id;
const status = (page) => page.locator('#scenario-status').getAttribute('data-status');

// From the list: open the scenario, Start, Log in, pick the identity at the
// mock TVS; back on the scenario page. Returns the relay's ACS URL seen.
async function runLogin(page, id, identity) {
  await page.goto(PP + '/', { waitUntil: 'load' });
  await click(page, page.locator(`#open-${id}`), scenarioUrl(id));
  await click(page, page.locator('#start-button')); // POST /start -> 303 back here
  check(`${id}: started (waiting)`, (await status(page)) === 'waiting', await status(page));
  let acs = '';
  const onRequest = (r) => { if (r.url().startsWith(RELAY + '/saml/acs')) acs = r.url(); };
  page.on('request', onRequest);
  await click(page, page.locator('#login-link'), (u) => u.origin === new URL(TVS).origin);
  await click(page, page.getByRole('button', { name: identity }).first(), scenarioUrl(id));
  page.off('request', onRequest);
  return acs;
}

// Phase main: the list, then every scenario but session-expired.
async function walkMain(browser, page) {
  // The list.
  await page.goto(PP + '/', { waitUntil: 'load' });
  await inspect(page, 'nl', '40-preprod-index', { shot: true, expectText: 'pre-productie' });
  const ids = await page.locator('#scenarios [id^=status-]').evaluateAll((els) => els.map((e) => e.id.slice(7)));
  check('index: the scenarios', SCENARIOS.every((s) => ids.includes(s)), ids.join(' '));
  check('index: every scenario open at the start', (await page.locator('#scenarios [data-status]')
    .evaluateAll((els) => els.every((e) => e.dataset.status === 'open'))));

  // A login per level, cancel, too low, Machtigen: each must pass.
  const logins = [['login-basic', 'DigiD Basis'], ['login-substantial', 'DigiD Substantieel'],
    ['login-high', 'DigiD Hoog'], ['cancel', 'Annuleren'], ['loa-too-low', 'DigiD Substantieel'],
    ['machtigen', 'Ouder voor kind']];
  for (const [id, identity] of logins) {
    await runLogin(page, id, identity);
    check(`${id}: passed`, (await status(page)) === 'passed',
      `${await status(page)}: ${await page.locator('#scenario-reason').innerText()}`);
  }
  await inspect(page, 'nl', '41-preprod-scenario', { shot: true, expectText: 'Machtigen' });
  check('machtigen: the result shows the represented person masked',
    (await page.locator('#scenario-result').innerText()).includes('******056'));
  const traceHref = await page.locator('#trace-link').getAttribute('href');

  // Logout: log in, then the scenario's Log out button: the test client
  // sends the browser to the relay's end_session_endpoint, which goes on
  // through the mock TVS and back to /logged-out.
  await runLogin(page, 'logout', 'DigiD Substantieel');
  check('logout: logged in, the Log out button shows', await page.locator('#logout-button').count() === 1);
  const steps = [];
  const seen = (r) => { if (r.isNavigationRequest()) steps.push(new URL(r.url()).pathname); };
  page.on('request', seen);
  const loggedOut = (u) => steps.includes('/logged-out') && scenarioUrl('logout')(u);
  let blocked = '';
  try {
    await click(page, page.locator('#logout-button'), loggedOut);
  } catch (e) {
    blocked = `${e.message.split('\n')[0]} after ${steps.join(' -> ')}`;
  }
  // The scenario page's CSP lists the relay's end_session_endpoint in
  // form-action: Chromium checks it on the redirect after the POST.
  check('logout: the Log out button reaches the relay\'s end_session_endpoint', !blocked, blocked);
  page.off('request', seen);
  check('logout: passed (relay /logout -> mock TVS -> relay /saml/slo -> /logged-out)',
    (await status(page)) === 'passed' && steps.includes('/kvs/rd/request_logout') && steps.includes('/saml/slo'),
    `${await status(page)} via ${steps.join(' -> ')}`);

  // Artifact replay: log in, then the same /saml/acs address again (as a
  // tester copies it from the Network tab), then Check.
  const acs = await runLogin(page, 'artifact-replay', 'DigiD Substantieel');
  check('artifact-replay: waiting for the replay', (await status(page)) === 'waiting', await status(page));
  check('artifact-replay: the ACS address was seen', acs.startsWith(RELAY + '/saml/acs'), acs);
  const replay = await page.goto(acs, { waitUntil: 'load' });
  check('artifact-replay: the relay answers with a page (400), no code', replay.status() === 400 &&
    page.url().startsWith(RELAY), `${replay.status()} ${page.url().slice(0, 60)}`);
  await page.goto(PP + '/scenario?s=artifact-replay', { waitUntil: 'load' });
  await click(page, page.locator('#check-button'));
  check('artifact-replay: passed', (await status(page)) === 'passed',
    `${await status(page)}: ${await page.locator('#scenario-reason').innerText()}`);

  // The trace of the Machtigen login.
  check('the trace link points at the relay', (traceHref || '').startsWith(RELAY + '/trace?id='), traceHref);
  await page.goto(traceHref, { waitUntil: 'load' });
  await inspect(page, 'nl', '42-trace', { shot: true });
  const kinds = await page.locator('li[id^=event-] > h3 code').allInnerTexts();
  check('trace page: the events of the login', kinds.length >= 8 && kinds.some((k) => k.includes('saml.validation')),
    kinds.join(' '));
  check('trace page: the stable ids', (await page.locator('#trace-id, #trace-client, #trace-created, #trace-json, #trace-events').count()) === 5);
  check('trace page: no unmasked test BSN', !/99999005[6]|999990044/.test(await page.content()));

  // The English index too (the tester's browser may prefer English).
  const en = await browser.newContext({ viewport: { width: 1000, height: 700 },
    extraHTTPHeaders: { 'Accept-Language': 'en-US,en;q=0.9,nl;q=0.8' } });
  const enPage = await en.newPage();
  await enPage.goto(PP + '/', { waitUntil: 'load' });
  await inspect(enPage, 'en', '40-preprod-index', { expectText: 'pre-production' });
  await enPage.goto(traceHref, { waitUntil: 'load' });
  await inspect(enPage, 'en', '42-trace');
  await en.close();
  // The language switch of a page reached by GET: a link to the same
  // address with lang=nl, which gives the same page in Dutch. A browser
  // each (the switch leaves a zr_lang cookie, for every port of localhost).
  for (const [url, name, text] of [[PP + '/', '40-preprod-index', 'pre-productie'], [traceHref, '42-trace', '']]) {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 },
      extraHTTPHeaders: { 'Accept-Language': 'en-US,en;q=0.9,nl;q=0.8' } });
    const p = await ctx.newPage();
    await p.goto(url, { waitUntil: 'load' });
    const entry = p.locator('nav.lang-switch a[lang="nl"][hreflang="nl"]');
    check(`en ${name}: the switch links to Nederlands`, (await entry.count()) === 1 &&
      (await entry.innerText()).trim() === 'Nederlands');
    await click(p, entry);
    check(`en ${name}: switched, the same page (lang=nl)`, new URL(p.url()).searchParams.get('lang') === 'nl' &&
      new URL(p.url()).pathname === new URL(url).pathname, p.url());
    await inspect(p, 'nl', `${name} switched`, { expectText: text || undefined });
    await ctx.close();
  }

  // The report as it stands (GET /report.json), session-expired still open.
  const report = await (await page.goto(PP + '/report.json', { waitUntil: 'load' })).json();
  const item = (s) => report.items.find((i) => i.scenario === s) || {};
  for (const s of SCENARIOS.filter((x) => x !== 'session-expired'))
    check(`report.json: ${s} passed`, item(s).status === 'passed', item(s).status);
  check('report.json: session-expired still open (the expired phase plays it)', item('session-expired').status === 'open',
    item('session-expired').status);
  check('report.json: masked BSN, acr of login-high', item('login-substantial').result?.bsn === '******019' &&
    item('login-high').result?.acr === 'http://eidas.europa.eu/LoA/high');
  check('report.json: the represented person of the Machtigen login', item('machtigen').result?.represents?.bsn === '******056');
  check('report.json: not complete while items are open', report.summary?.complete === false);
  check('report.json: no unmasked test BSN', !/9999900(19|20|32|44|56)/.test(JSON.stringify(report)));
}

// Phase expired: the relay now keeps a login at TVS for LIFETIME seconds.
async function walkExpired(browser, page) {
  const lifetime = Number(process.env.ZR_LIFETIME);
  if (!(lifetime > 0 && lifetime <= 30)) throw new Error('ZR_LIFETIME (1..30 s) is not set');
  const id = 'session-expired';
  await page.goto(PP + '/', { waitUntil: 'load' });
  await click(page, page.locator(`#open-${id}`), scenarioUrl(id));
  check(`${id}: open before Start`, (await status(page)) === 'open', await status(page));
  // preprod-test's steps name the lifetime it read from the configuration.
  check(`${id}: the steps name the relay's session lifetime`,
    (await page.locator('#scenario-steps').innerText()).includes(`${lifetime} seconden`),
    await page.locator('#scenario-steps').innerText());
  await click(page, page.locator('#start-button'));
  check(`${id}: started (waiting)`, (await status(page)) === 'waiting', await status(page));
  await click(page, page.locator('#login-link'), (u) => u.origin === new URL(TVS).origin);
  // The relay's pending login was stored before the browser got here.
  const atTvs = Date.now();
  // A wait on the clock, on purpose: the tester sits at DigiD's login page
  // past the relay's session lifetime, so the expiry is the point, not a
  // race (2 s of margin over the lifetime).
  await page.waitForTimeout(lifetime * 1000 + 2000);
  const [acs] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(RELAY + '/saml/acs') && r.request().isNavigationRequest(),
      { timeout: 30000 }),
    page.getByRole('button', { name: 'DigiD Substantieel' }).first().click(),
  ]);
  await page.waitForLoadState('load');
  check(`${id}: the relay answers at /saml/acs with its page (400), no code`, acs.status() === 400 &&
    page.url().startsWith(RELAY + '/saml/acs') && !/[?&]code=/.test(page.url()),
    `${acs.status()} ${page.url().slice(0, 60)} after ${((Date.now() - atTvs) / 1000).toFixed(1)} s at TVS`);
  await inspect(page, 'nl', '44-session-expired', { expectText: 'Uw inlogsessie is verlopen' });
  check(`${id}: no test BSN on the relay's page`, !/9999900(19|20|32|44|56)/.test(await page.content()));

  // Back to the scenario page (the tester's tab), then Check.
  await page.goto(PP + '/scenario?s=' + id, { waitUntil: 'load' });
  check(`${id}: still waiting for the check`, (await status(page)) === 'waiting', await status(page));
  await click(page, page.locator('#check-button'));
  const reason = await page.locator('#scenario-reason').innerText();
  check(`${id}: passed (the relay's session-expired page, seen in the trace)`, (await status(page)) === 'passed' &&
    reason.includes('sessie verlopen') && reason.includes(`sessieduur: ${lifetime} seconden`),
    `${await status(page)}: ${reason}`);

  // The whole run: every scenario passed, the report complete.
  const rep = await page.goto(PP + '/report.json', { waitUntil: 'load' });
  const report = await rep.json();
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'nl-43-preprod-report.png') });
  const items = report.items || [];
  const passed = items.filter((i) => i.status === 'passed').map((i) => i.scenario);
  check(`report.json: all ${SCENARIOS.length} scenarios passed`, items.length === SCENARIOS.length &&
    SCENARIOS.every((s) => passed.includes(s)),
    items.map((i) => `${i.scenario}=${i.status}`).join(' '));
  check('report.json: complete', report.summary?.complete === true, JSON.stringify(report.summary));
  check('report.json: no unmasked test BSN', !/9999900(19|20|32|44|56)/.test(JSON.stringify(report)));
  // The report page is JSON: axe's findings on Chromium's JSON view are
  // about the viewer (no lang, title or landmark), listed, not judged.
  const viewer = await axe(page);
  console.log(`# report.json in Chromium's JSON view: axe ${viewer.map((v) => `${v.id} (${v.impact})`).join(', ') || 'no findings'}`);
}

const browser = await chromium.launch({
  executablePath: process.env.ZR_CHROMIUM || '/usr/bin/chromium',
  chromiumSandbox: false,
  args: ['--no-first-run', '--disable-gpu'],
});
const started = Date.now();
try {
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 },
    extraHTTPHeaders: { 'Accept-Language': 'nl;q=1, en;q=0.5' } });
  const csp = [];
  const page = await ctx.newPage();
  // Chromium's own request for a /favicon.ico (the JSON viewer has no icon
  // of its own) may be judged against the next document's CSP when the page
  // moves on first: browser chrome, not something a page of ours loads.
  // Our pages name an inline icon (test_http_templates) and never cause one.
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text()) && !/\/favicon\.ico'/.test(m.text())) csp.push(m.text());
  });
  if (PHASE === 'main') await walkMain(browser, page);
  else if (PHASE === 'expired') await walkExpired(browser, page);
  else throw new Error(`ZR_PREPROD_PHASE ${PHASE}: main or expired`);
  check('no Content-Security-Policy violation', csp.length === 0, csp.join(' | '));
  await ctx.close();
} catch (e) {
  fail++;
  console.log(`not ok - the preprod walk stopped: ${e.stack || e}`);
} finally {
  await browser.close();
}
const ids = new Map();
for (const s of axeSummary) for (const v of s.violations) ids.set(`${v.id} (${v.impact})`, (ids.get(`${v.id} (${v.impact})`) || 0) + 1);
console.log(`# axe-core ${require('axe-core/package.json').version}: ${axeSummary.length} pages checked; ` +
  (ids.size ? 'rules with findings: ' + [...ids].map(([k, n]) => `${k} x${n}`).join(', ') : 'no findings'));
console.log(`# preprod walk (${PHASE}): ${pass} passed, ${fail} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(fail ? 1 : 0);
