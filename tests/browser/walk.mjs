// Walks every page a person sees in headless Chromium (issue 5 §6): the
// patient login (portal -> relay -> mock TVS -> portal), the professional
// login (chooser -> mock Dezi -> portal), logging out of both (portal ->
// relay -> for a patient the mock TVS's SingleLogoutService -> relay ->
// portal) and every error page a person can reach, in Dutch and English. Each page is checked with axe-core (serious
// or critical violations fail), for keyboard focus (skip link first, a
// visible outline), for its language, and for requests to anywhere but the
// test services (no external resources). The example portal's pages are
// checked with axe-core too (no finding of any impact allowed there).
// ZR_SCREENSHOTS=DIR saves PNGs.
//
// Environment: ZR_PORTAL, ZR_RELAY, ZR_TVS, ZR_DEZI (base URLs),
// ZR_CHROMIUM (default /usr/bin/chromium), ZR_SCREENSHOTS (optional dir).
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadStrings, foreignStrings, sharedStrings, visibleText, mixedIn } from './mixed.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const axeSource = require('axe-core').source;

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k].replace(/\/$/, '');
};
const PORTAL = env('ZR_PORTAL');
const RELAY = env('ZR_RELAY');
const TVS = env('ZR_TVS');
const DEZI = env('ZR_DEZI');
const SHOTS = process.env.ZR_SCREENSHOTS || '';
const EN_SHOTS = ['02-autopost-noscript', '05-refusal-cancelled', '03-mock-tvs-login', '10-error-login-already-done', '20-mock-tvs-error',
  '30-chooser', '31-mock-dezi-login', '18-logout-done'];
const ours = [PORTAL, RELAY, TVS, DEZI].map((u) => new URL(u).origin);
// Issue 18 §2: the strings of each language (the catalog, else the
// per-language templates), for the check that no page mixes languages.
const STRINGS = loadStrings(env('ZR_TEMPLATES_DIR'));
const FOREIGN = { nl: foreignStrings(STRINGS.strings, 'nl'), en: foreignStrings(STRINGS.strings, 'en') };
// Names from the test's configuration the pages show in either language.
const NAMES = ['Zorgaanbieder Demo (TEST)', 'Zorgaanbieder Demo', 'Demo patientportaal'];

// The two browsers: a Dutch one (by q-value: nl;q=1 beats en;q=0.5) and an
// English one (en-US first, nl only third).
const LANGS = {
  nl: 'nl;q=1, en;q=0.5',
  en: 'en-US,en;q=0.9,nl;q=0.8',
};

const T0 = Date.now();
let pass = 0;
let fail = 0;
const axeSummary = [];
function check(what, ok, detail = '') {
  if (ok) {
    pass++;
    console.log(`ok - ${what}${process.env.ZR_DEBUG ? ` [${((Date.now() - T0) / 1000).toFixed(1)}s]` : ""}`);
  } else {
    fail++;
    console.log(`not ok - ${what}${detail ? ': ' + detail : ''}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.ZR_CHROMIUM || '/usr/bin/chromium',
  // The browser only visits the test's own services on loopback; the
  // sandbox needs user namespaces that CI containers often lack.
  chromiumSandbox: false,
  args: ['--no-first-run', '--disable-gpu'],
});

async function newContext(lang, options = {}) {
  const ctx = await browser.newContext({
    viewport: { width: 1000, height: 700 },
    extraHTTPHeaders: { 'Accept-Language': LANGS[lang] },
    ...options,
  });
  ctx.external = [];
  ctx.cspReports = [];
  ctx.on('request', (req) => {
    const u = new URL(req.url());
    if (['http:', 'https:'].includes(u.protocol) && !ours.includes(u.origin)) ctx.external.push(req.url());
  });
  ctx.on('page', (page) => watch(ctx, page));
  return ctx;
}

function watch(ctx, page) {
  if (process.env.ZR_DEBUG) {
    page.on('requestfailed', (r) => console.log(`# request failed: ${r.method()} ${r.url()} ${r.failure().errorText}`));
    page.on('console', (msg) => console.log(`# console: ${msg.text()}`));
  }
  page.on('console', (msg) => {
    // A /favicon.ico request is Chromium's own (see preprod.mjs), not a page's.
    if (/Content Security Policy|Refused to/i.test(msg.text()) && !/\/favicon\.ico'/.test(msg.text()))
      ctx.cspReports.push(msg.text());
  });
}

// Runs every check on the page that is showing now, and saves its
// screenshot. relay: the page is one of ours (the portal is an example app
// outside this issue's layout).
async function inspect(page, lang, name, { expectText, relay = true, status, provider, shot = true } = {}) {
  const label = `${lang} ${name}`;
  await page.waitForLoadState('load');
  // Screenshots first (before the keyboard checks scroll the page): every
  // page in Dutch; in English the pages of the logins and one error page
  // (the other English error pages differ only in their text).
  if (SHOTS && shot && (lang === 'nl' || EN_SHOTS.includes(name))) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, `${lang}-${name}.png`) });
  }
  await checkReflow(page, label);
  const body = await page.locator('body').innerText();
  if (expectText) check(`${label}: shows "${expectText}"`, body.includes(expectText), body.slice(0, 200));
  if (status !== undefined && page.lastStatus !== undefined)
    check(`${label}: HTTP ${status}`, page.lastStatus === status, `got ${page.lastStatus}`);
  if (relay) {
    const htmlLang = await page.evaluate(() => document.documentElement.lang);
    check(`${label}: <html lang="${lang}">`, htmlLang === lang, `got "${htmlLang}"`);
    // Issue 18 §2: no text of another language, except where marked so
    // (lang="..." on the element: the switch's "English", a technical
    // reason); the page's own language decides which strings are foreign.
    const mixed = mixedIn(await page.evaluate(visibleText), FOREIGN[htmlLang] || [], NAMES);
    check(`${label}: no text of another language`, mixed.length === 0,
      mixed.slice(0, 3).map((f) => `${f.lang}: "${f.text}"`).join('; '));
    const structure = await page.evaluate(() => ({
      main: document.querySelectorAll('main').length,
      h1: document.querySelectorAll('h1').length,
      title: document.title,
      // the care provider's logo comes from the relay itself (/logo)
      external: [...document.querySelectorAll('link[href]:not([rel=icon][href^="data:"]), script[src], img[src]:not([src^="/logo?"]), iframe')].length,
    }));
    check(`${label}: one <main>, one <h1>, a title, no external resources`,
      structure.main === 1 && structure.h1 === 1 && structure.title.length > 0 && structure.external === 0,
      JSON.stringify(structure));
    // Issue 18 §3: the header names the care provider the person logs in
    // to, with its logo (loaded from the relay); where no care provider is
    // known, the generic header alone.
    if (provider !== undefined) {
      const h = await page.evaluate(() => {
        const img = document.querySelector('header img.logo');
        return { name: (document.querySelector('header .provider-name') || {}).textContent || '',
          logo: !!img && img.complete && img.naturalWidth > 0, alt: img ? img.alt : '',
          brand: document.querySelector('header .brand').textContent };
      });
      if (provider)
        check(`${label}: the header names the care provider, with its logo`,
          h.name === 'Zorgaanbieder Demo (TEST)' && h.logo && h.alt === 'Zorgaanbieder Demo', JSON.stringify(h));
      else
        check(`${label}: the generic header (no care provider known)`, h.name === '' && !h.logo, JSON.stringify(h));
    } else if (process.env.ZR_DEBUG && page.url().startsWith(RELAY + '/')) {
      console.log(`# ${label} header: ${await page.locator('header').innerText()}`);
    }
    // Issue 18 §1, no dead ends: every page of the relay has a focusable
    // way forward besides the skip link, or (the relay knows nothing of the
    // portal) a sentence saying what to do.
    if (page.url().startsWith(RELAY + '/')) {
      const way = await page.evaluate(() => ({
        focusable: document.querySelectorAll('main a[href], main button').length,
        sentence: !!document.querySelector('.way-none'),
      }));
      check(`${label}: a way forward`, way.focusable > 0 || way.sentence, JSON.stringify(way));
    }
    // Keyboard: the first Tab lands on the skip link, which then shows;
    // the next stop has a visible focus outline.
    await page.keyboard.press('Tab');
    const skip = await page.evaluate(() => {
      const a = document.activeElement;
      const r = a.getBoundingClientRect();
      return { skip: a.classList.contains('skip'), visible: r.left >= 0 && r.top >= 0 && r.width > 0 };
    });
    check(`${label}: first Tab shows the skip link`, skip.skip && skip.visible, JSON.stringify(skip));
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const a = document.activeElement;
      if (!a || a === document.body) return { none: true };
      const s = getComputedStyle(a);
      return { tag: a.tagName, outline: s.outlineStyle, width: s.outlineWidth };
    });
    check(`${label}: visible keyboard focus`, focus.none || (focus.outline !== 'none' && focus.width !== '0px'),
      JSON.stringify(focus));
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
  }
  // axe-core, injected through the DevTools protocol (the pages' CSP rightly
  // allows no script of ours); WCAG 2.x A and AA rules plus best practices.
  const axeStart = Date.now();
  const result = await page.evaluate(async (src) => {
    if (!window.axe) (0, eval)(src);
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  }, axeSource);
  if (process.env.ZR_DEBUG) console.log(`# axe ${label}: ${Date.now() - axeStart} ms`);
  // Our pages: nothing serious or critical; the example portal: nothing at all.
  const bad = result.filter((v) => !relay || v.impact === 'serious' || v.impact === 'critical');
  const minor = result.filter((v) => !bad.includes(v));
  axeSummary.push({ page: label, violations: result });
  check(`${label}: axe-core finds no ${relay ? 'serious or critical ' : ''}violations`, bad.length === 0,
    bad.map((v) => `${v.id} (${v.impact}, ${v.nodes})`).join(', '));
  if (minor.length) console.log(`# ${label}: axe minor/moderate: ${minor.map((v) => `${v.id} (${v.impact})`).join(', ')}`);
}

// WCAG 2.1 reflow (1.4.10, issue 18 §3): at 320 CSS px the page scrolls
// only vertically; wide content (a <pre>, a long URL) wraps or scrolls in
// its own box. The viewport is put back afterwards (screenshots, keyboard).
async function checkReflow(page, label) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 320, height: size.height });
  const r = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth }));
  await page.setViewportSize(size);
  check(`${label}: no horizontal scrolling at 320 px`, r.scroll <= r.client, JSON.stringify(r));
}

// Follows the page's navigations, remembering the last document's status.
function trackStatus(page) {
  page.on('response', (resp) => {
    if (resp.request().isNavigationRequest() && resp.frame() === page.mainFrame()) page.lastStatus = resp.status();
  });
}

// Navigates to url and waits for the document.
async function open(page, url) {
  await page.goto(url, { waitUntil: 'load' });
}

// A form POST from a blank page: how a person reaches pages behind POST
// (e.g. submitting a mock login page a second time).
async function postForm(page, url, fields) {
  await page.goto('about:blank');
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.evaluate(({ url, fields }) => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = url;
      for (const [k, v] of Object.entries(fields)) {
        const i = document.createElement('input');
        i.type = 'hidden';
        i.name = k;
        i.value = v;
        f.appendChild(i);
      }
      document.body.appendChild(f);
      f.submit();
    }, { url, fields }),
  ]);
}

// At the portal (logged in): "Uitloggen / Log out" posts id_token_hint,
// post_logout_redirect_uri and a fresh state to the relay's
// end_session_endpoint. A patient's logout goes on through the mock TVS
// (LogoutRequest and LogoutResponse by auto-POST) and the relay's /saml/slo;
// every step must pass Chromium's CSP form-action checks on redirects, and
// the portal's logged-out page must get back the state it sent.
async function logoutAtPortal(page, lang, name, viaTvs) {
  const state = await page.locator('input[name=state]').inputValue();
  const hint = await page.locator('input[name=id_token_hint]').inputValue();
  const action = await page.locator('form:has(input[name=id_token_hint])').getAttribute('action');
  check(`${lang} ${name}: the portal posts to the relay's end_session_endpoint`,
    action === RELAY + '/logout' && state.length > 10 && hint.split('.').length === 3, action);
  const steps = [];
  const seen = (r) => { if (r.isNavigationRequest()) steps.push(`${r.method()} ${new URL(r.url()).origin === TVS ? 'TVS' : ''}${new URL(r.url()).pathname}`); };
  page.on('request', seen);
  await Promise.all([
    page.waitForURL((u) => u.origin === new URL(PORTAL).origin && u.pathname === '/' && u.searchParams.has('state'),
      { timeout: 20000 }),
    page.getByRole('button', { name: 'Uitloggen / Log out' }).click(),
  ]);
  page.off('request', seen);
  await inspect(page, lang, name, { relay: false, status: 200, expectText: 'Uitgelogd' });
  check(`${lang} ${name}: the same state came back`, new URL(page.url()).searchParams.get('state') === state);
  const want = viaTvs ? ['POST /logout', 'POST TVS/kvs/rd/request_logout', 'POST /saml/slo', 'GET /']
    : ['POST /logout', 'GET /'];
  check(`${lang} ${name}: the way back (${want.join(' -> ')})`, JSON.stringify(steps) === JSON.stringify(want),
    steps.join(' -> '));
}

// Clicks the submit button whose text contains label and waits for the
// next document.
// Issue 18 §2: a refusal the relay shows itself (error_pages: relay, the
// default): the page in the person's language with exactly one button,
// which delivers the OAuth error to the portal, once.
async function refusal(page, lang, name, { title, status, again, portalText = 'access_denied' }) {
  await inspect(page, lang, name, { status, expectText: title });
  const buttons = await page.evaluate(() => document.querySelectorAll('main button, main a.button').length);
  check(`${lang} ${name}: exactly one button`, buttons === 1, `got ${buttons}`);
  const handle = await page.locator('input[name=handle]').inputValue();
  await Promise.all([page.waitForURL(PORTAL + '/**'), page.locator('#way-return').click()]);
  const body = await page.locator('body').innerText();
  check(`${lang} ${name}: the button delivers the error to the portal`, body.includes(portalText), body.slice(0, 200));
  await postForm(page, RELAY + '/authorize/return', { handle });
  check(`${lang} ${name}: the button works once`, page.lastStatus === 400 &&
    (await page.locator('h1').innerText()).includes(again), `status ${page.lastStatus}`);
}

async function choose(page, label) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: label }).first().click(),
  ]);
}

async function walk(lang) {
  const T = (nl, en) => (lang === 'en' ? en : nl);
  const ctx = await newContext(lang);
  const page = await ctx.newPage();
  trackStatus(page);

  // --- 1. Patient: portal -> relay (autopost) -> mock TVS -> portal.
  await open(page, PORTAL + '/');
  await inspect(page, lang, '01-portal-start', { relay: false, expectText: 'Inloggen met DigiD' });
  await Promise.all([page.waitForURL(TVS + '/**'), page.getByRole('link', { name: 'Inloggen met DigiD' }).click()]);
  await inspect(page, lang, '03-mock-tvs-login', { expectText: T('Kies een testidentiteit', 'Choose a test identity') });
  check(`${lang} mock TVS page says it is a test environment`, (await page.locator('header').innerText()).includes('TESTOMGEVING'));
  // Keep this login's handle: submitting it twice is one of the errors below.
  const usedHandle = await page.locator('input[name=handle]').inputValue();
  let acsUrl = '';
  page.on('request', (r) => { if (r.url().startsWith(RELAY + '/saml/acs')) acsUrl = r.url(); });
  await choose(page, 'DigiD Substantieel');
  await inspect(page, lang, '04-portal-logged-in', { relay: false, expectText: 'Ingelogd' });
  check(`${lang} patient: the portal received the BSN`, (await page.locator('body').innerText()).includes('999990019'));
  // Logout: portal -> relay -> mock TVS -> relay -> portal.
  await logoutAtPortal(page, lang, '07-portal-logged-out', true);

  // --- 2. The same artifact URL again in this browser (back button,
  // reload): already logged in (issue 18 §1), with the way back.
  check(`${lang} patient: the relay's ACS URL was seen`, acsUrl !== '');
  await open(page, acsUrl);
  await inspect(page, lang, '10-error-login-already-done', { provider: true, status: 400,
    expectText: T('U bent al ingelogd', 'You are already logged in') });
  check(`${lang} already logged in: back to the portal`,
    (await page.getByRole('link', { name: T('Terug naar Demo patientportaal', 'Back to Demo patientportaal') }).count()) === 1);

  // --- 3. The mock TVS login page submitted a second time.
  await postForm(page, TVS + '/kvs/rd/choose', { handle: usedHandle, identity: '0' });
  await inspect(page, lang, '20-mock-tvs-error', { status: 400, expectText: T('Verzoek geweigerd', 'Request refused') });

  // --- 4. Another browser finishes a login begun here: refused.
  await open(page, PORTAL + '/login');
  await page.waitForURL(TVS + '/**');
  // TVS's answer (a redirect to the relay's ACS) is caught, not followed.
  let pendingAcs = '';
  await page.route(TVS + '/kvs/rd/choose', async (route) => {
    const resp = await route.fetch({ maxRedirects: 0 });
    pendingAcs = resp.headers().location || '';
    await route.abort();
  });
  await page.getByRole('button', { name: 'DigiD Hoog' }).first().click();
  for (let i = 0; i < 100 && !pendingAcs; i++) await page.waitForTimeout(50);
  await page.unroute(TVS + '/kvs/rd/choose');
  check(`${lang} the mock TVS answers with a redirect to the relay's ACS`, pendingAcs.startsWith(RELAY + '/saml/acs'), pendingAcs);
  const other = await newContext(lang);
  const otherPage = await other.newPage();
  trackStatus(otherPage);
  await open(otherPage, pendingAcs);
  await inspect(otherPage, lang, '11-error-browser-mismatch', { status: 400,
    expectText: T('Andere browser', 'Different browser') });
  await other.close();

  // --- 5. Cancel at TVS, and a level of assurance that is too low: the
  // relay tells the person (issue 18 §2), its button tells the portal
  // (OAuth access_denied).
  const again = T('Al teruggestuurd', 'Already sent back');
  await open(page, PORTAL + '/login');
  await page.waitForURL(TVS + '/**');
  await choose(page, T('Annuleren', 'Annuleren'));
  await refusal(page, lang, '05-refusal-cancelled', { status: 403, again,
    title: T('U heeft het inloggen afgebroken', 'You cancelled logging in') });
  await open(page, PORTAL + '/login');
  await page.waitForURL(TVS + '/**');
  await choose(page, 'DigiD Basis');
  await refusal(page, lang, '06-refusal-loa-too-low', { status: 403, again, portalText: 'level of assurance',
    title: T('Voor deze dienst is de DigiD app met ID-check nodig',
      'This service needs the DigiD app with ID check') });
  await open(page, PORTAL + '/login');
  await page.waitForURL(TVS + '/**');
  await choose(page, 'Verkeerd wachtwoord');
  await refusal(page, lang, '07-refusal-authn-failed', { status: 403, again,
    title: T('Inloggen niet gelukt', 'Logging in did not succeed') });

  // --- 6. Professional: chooser -> mock Dezi -> portal.
  await open(page, PORTAL + '/login?method=choose');
  await inspect(page, lang, '30-chooser', { provider: true, expectText: T('Hoe wilt u inloggen?', 'How do you want to log in?') });
  // Logius' DigiD button (issue 18 §3): exactly "Inloggen met DigiD", the
  // logo the operator supplies (decorative: the text names DigiD) loaded
  // from the relay, and the care provider's name with it (checklist C2).
  const digid = await page.evaluate(() => {
    const b = [...document.querySelectorAll('main button')].find((x) => x.value === 'patient');
    const img = b && b.querySelector('img');
    return { text: b ? b.textContent.trim() : '', img: !!img && img.complete && img.naturalWidth > 0,
      alt: img ? img.getAttribute('alt') : null, src: img ? img.getAttribute('src') : '',
      provider: document.querySelector('main').innerText.includes('Zorgaanbieder Demo (TEST)') };
  });
  check(`${lang} chooser: the DigiD button says "${T('Inloggen met DigiD', 'Log in with DigiD')}", with the operator's logo`,
    digid.text === T('Inloggen met DigiD', 'Log in with DigiD') && digid.img && digid.alt === '' &&
    digid.src.startsWith('/logo?of=digid&v=') && digid.provider, JSON.stringify(digid));
  await Promise.all([page.waitForURL(DEZI + '/**'), page.getByRole('button', { name: T('Inloggen met Dezi', 'Log in with Dezi') }).click()]);
  await inspect(page, lang, '31-mock-dezi-login', { expectText: T('Kies een testzorgverlener', 'Choose a test professional') });
  await choose(page, '01.015');
  await inspect(page, lang, '32-portal-professional', { relay: false, expectText: '01.015' });
  // A professional's logout: no SAML, the relay sends the browser straight back.
  await logoutAtPortal(page, lang, '33-portal-professional-logged-out', false);
  // The chooser: patient route too.
  await open(page, PORTAL + '/login?method=choose');
  await Promise.all([page.waitForURL(TVS + '/**'), page.getByRole('button', { name: T('Inloggen met DigiD', 'Log in with DigiD') }).click()]);
  check(`${lang} chooser -> patient reaches the mock TVS`, page.url().startsWith(TVS));
  // A chooser submitted twice.
  await open(page, PORTAL + '/login?method=choose');
  const chooserHandle = await page.locator('input[name=handle]').inputValue();
  await choose(page, T('Inloggen met DigiD', 'Log in with DigiD'));
  await postForm(page, RELAY + '/login/choose', { handle: chooserHandle, method: 'patient' });
  check(`${lang} chooser submitted twice: the choice was made`, page.lastStatus === 400 &&
    (await page.locator('h1').innerText()).includes(T('Keuze al gemaakt', 'Choice already made')));
  // The chooser's cancel (issue 18 §1): back at the portal with access_denied.
  await open(page, PORTAL + '/login?method=choose');
  await Promise.all([page.waitForURL(PORTAL + '/**'),
    page.getByRole('button', { name: T('Annuleren en terug naar', 'Cancel and go back to') }).click()]);
  check(`${lang} chooser cancel: the portal is told access_denied`,
    (await page.locator('body').innerText()).includes('access_denied'));

  // --- 7. A role the portal does not admit.
  await open(page, PORTAL + '/login?method=professional');
  await page.waitForURL(DEZI + '/**');
  await choose(page, '17.000');
  await refusal(page, lang, '12-refusal-role-not-allowed', { status: 403, again,
    title: T('Uw rol geeft hier geen toegang', 'Your role gives no access here') });
  // Cancel at Dezi: the relay's page, then back at the portal with access_denied.
  await open(page, PORTAL + '/login?method=professional');
  await page.waitForURL(DEZI + '/**');
  await choose(page, T('Annuleren', 'Cancel'));
  await refusal(page, lang, '34-refusal-dezi-cancelled', { status: 403, again,
    title: T('Inloggen als zorgverlener afgebroken', 'Professional login cancelled') });

  // --- 8. Requests the relay refuses with a page (never a redirect).
  const authz = (params) => RELAY + '/authorize?' + new URLSearchParams({
    response_type: 'code', scope: 'openid', state: 'st', nonce: 'no',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...params,
  });
  await open(page, authz({ client_id: 'no-such-portal', redirect_uri: PORTAL + '/callback' }));
  await inspect(page, lang, '13-error-unknown-client', { provider: false, status: 400,
    expectText: T('Onbekende website of app', 'Unknown website or app') });
  await open(page, authz({ client_id: 'demo-portal', redirect_uri: 'https://evil.example/callback' }));
  await inspect(page, lang, '14-error-invalid-redirect-uri', { provider: true, status: 400,
    expectText: T('Onbekend terugkeeradres', 'Unknown return address') });
  await open(page, RELAY + '/saml/acs');
  await inspect(page, lang, '15-error-bad-request', { status: 400, expectText: T('Ongeldig verzoek', 'Invalid request') });
  await open(page, RELAY + '/no-such-page');
  await inspect(page, lang, '16-error-not-found', { provider: false, status: 404, expectText: T('Pagina niet gevonden', 'Page not found') });
  await open(page, RELAY + '/login/choose');
  await inspect(page, lang, '17-error-method-not-allowed', { status: 405,
    expectText: T('Dit kan niet op deze pagina', 'Not possible on this page') });

  // --- 8b. Logout at the relay without a way back: its own page; and
  // logout requests it refuses (a page, never a redirect).
  await open(page, RELAY + '/logout?client_id=demo-portal');
  await inspect(page, lang, '18-logout-done', { provider: true, status: 200,
    expectText: T('U bent uitgelogd bij Demo patientportaal', 'You are logged out of Demo patientportaal') });
  await open(page, RELAY + '/logout?' + new URLSearchParams({ id_token_hint: 'eyJhbGciOiJub25lIn0.e30.', state: 'st' }));
  await inspect(page, lang, '19-error-logout-invalid', { status: 400,
    expectText: T('Uitloggen niet gelukt', 'Logging out did not work') });
  await open(page, RELAY + '/logout?' + new URLSearchParams({ client_id: 'demo-portal',
    post_logout_redirect_uri: 'https://evil.example/', state: 'st' }));
  check(`${lang} logout to an unregistered address: a page (400), no redirect`, page.lastStatus === 400 &&
    page.url().startsWith(RELAY) && (await page.locator('h1').innerText()).includes(
    T('Onbekend terugkeeradres bij uitloggen', 'Unknown return address at logout')));

  // --- 9. The mock services' own refusals.
  await postForm(page, TVS + '/kvs/rd/request_authentication', { SAMLRequest: 'bm90IFNBTUw=' });
  await inspect(page, lang, '21-mock-tvs-error-request', { status: 400, expectText: T('Verzoek geweigerd', 'Request refused') });
  await open(page, DEZI + '/authorize?client_id=unknown&redirect_uri=x');
  await inspect(page, lang, '22-mock-dezi-error', { status: 400, expectText: T('Verzoek geweigerd', 'Request refused') });

  check(`${lang}: no request left the test services`, ctx.external.length === 0, ctx.external.join(' '));
  check(`${lang}: no Content-Security-Policy violation`, ctx.cspReports.length === 0, ctx.cspReports.join(' | '));
  await ctx.close();
}

// The autopost page (relay -> TVS, HTTP-POST binding) passes too fast to
// see with JavaScript; without it, the person presses Continue. The whole
// patient login then works without JavaScript.
async function walkWithoutScript(lang) {
  const T = (nl, en) => (lang === 'en' ? en : nl);
  const ctx = await newContext(lang, { javaScriptEnabled: false });
  const page = await ctx.newPage();
  trackStatus(page);
  await open(page, PORTAL + '/login');
  check(`${lang} without JavaScript: the relay's autopost page waits`, page.url().startsWith(RELAY + '/authorize'));
  // axe-core needs script (its timers do not run in this browser), so the
  // checks run on a copy of exactly what this browser shows: the page as
  // parsed without script, the <noscript> part shown as it is here.
  const shown = (await page.content())
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<noscript>/g, '<div>').replace(/<\/noscript>/g, '</div>');
  check(`${lang} without JavaScript: the autopost page shows a Continue button`,
    await page.getByRole('button', { name: T('Doorgaan', 'Continue') }).isVisible());
  const copyCtx = await newContext(lang);
  const copy = await copyCtx.newPage();
  // The copy's relative addresses (the header's /logo) are the relay's.
  await copy.setContent(shown.replace('<head>', `<head><base href="${RELAY}/">`), { waitUntil: 'load' });
  await inspect(copy, lang, '02-autopost-noscript', { provider: true, expectText: T('Even geduld', 'One moment') });
  await copyCtx.close();
  await choose(page, T('Doorgaan', 'Continue'));
  check(`${lang} without JavaScript: Continue reaches the mock TVS`, page.url().startsWith(TVS));
  await choose(page, 'DigiD Substantieel');
  check(`${lang} without JavaScript: logged in at the portal`, (await page.locator('body').innerText()).includes('Ingelogd'));
  // Logging out without JavaScript: Continue at the relay (LogoutRequest to
  // TVS) and at the mock TVS (LogoutResponse to the relay).
  await choose(page, 'Uitloggen / Log out');
  check(`${lang} without JavaScript: the relay's logout autopost page waits`, page.url() === RELAY + '/logout');
  await choose(page, T('Doorgaan', 'Continue'));
  check(`${lang} without JavaScript: the mock TVS's logout answer waits`, page.url().startsWith(TVS + '/kvs/rd/request_logout'));
  await choose(page, T('Doorgaan', 'Continue'));
  check(`${lang} without JavaScript: logged out, back at the portal`, page.url().startsWith(PORTAL + '/?state=') &&
    (await page.locator('body').innerText()).includes('Uitgelogd'));
  check(`${lang} without JavaScript: no Content-Security-Policy violation`, ctx.cspReports.length === 0, ctx.cspReports.join(' | '));
  await ctx.close();
}

// Issue 18 §2: the language switch, and the language from ui_locales
// where the browser says the other one. browser is the browser's language;
// each login asks ui_locales for the other. The switch is clicked on each
// kind of page (a form's button: chooser, mock TVS login, refusal page; a
// link: a page reached by GET) and the page must come back in the other
// language, and the login go on and complete. Each part has its own
// browser context (the switch leaves a zr_lang cookie).
async function clickSwitch(page, to) {
  const entry = page.locator(`nav.lang-switch [lang="${to}"]`);
  check(`switch to ${to}: one entry in the header, named in its own language`, (await entry.count()) === 1 &&
    (await entry.innerText()).trim() === (to === 'en' ? 'English' : 'Nederlands'));
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), entry.click()]);
}

async function walkSwitch(browserLang) {
  const b = browserLang;
  const o = b === 'nl' ? 'en' : 'nl';
  const T = (l, nl, en) => (l === 'en' ? en : nl);
  const opt = { shot: false };
  const n = (what) => `switch (browser ${b}): ${what}`;

  // A. Chooser (ui_locales) -> switch -> DigiD -> mock TVS -> switch -> logged in.
  let ctx = await newContext(b);
  let page = await ctx.newPage();
  trackStatus(page);
  await open(page, PORTAL + `/login?method=choose&ui_locales=${o}`);
  await inspect(page, o, n(`chooser, ui_locales=${o}`), { ...opt, provider: true,
    expectText: T(o, 'Hoe wilt u inloggen?', 'How do you want to log in?') });
  await clickSwitch(page, b);
  await inspect(page, b, n('chooser switched'), { ...opt, status: 200,
    expectText: T(b, 'Hoe wilt u inloggen?', 'How do you want to log in?') });
  await Promise.all([page.waitForURL(TVS + '/**'),
    page.getByRole('button', { name: T(b, 'Inloggen met DigiD', 'Log in with DigiD') }).click()]);
  await inspect(page, b, n('mock TVS login'), { ...opt, expectText: T(b, 'Inloggen (test)', 'Log in (test)') });
  await clickSwitch(page, o);
  await inspect(page, o, n('mock TVS login switched'), { ...opt, status: 200,
    expectText: T(o, 'Inloggen (test)', 'Log in (test)') });
  let acsUrl = '';
  page.on('request', (r) => { if (r.url().startsWith(RELAY + '/saml/acs')) acsUrl = r.url(); });
  await choose(page, 'DigiD Substantieel');
  check(`${n('after both switches the login completes')}`, page.url().startsWith(PORTAL) &&
    (await page.locator('body').innerText()).includes('Ingelogd'), page.url());
  // The ACS address again (back button): its page cannot be repeated (the
  // artifact), so its switch makes it again at /error, artifact-free.
  await open(page, acsUrl);
  await inspect(page, b, n('already logged in (the login switched to this language)'), { ...opt, status: 400,
    expectText: T(b, 'U bent al ingelogd', 'You are already logged in') });
  const ref = await page.locator('main code').nth(1).innerText();
  await clickSwitch(page, o);
  check(n('already logged in, switched: /error, no artifact in the address'),
    new URL(page.url()).pathname === '/error' && !page.url().includes('SAMLart'), page.url());
  await inspect(page, o, n('already logged in, switched'), { ...opt, status: 400,
    expectText: T(o, 'U bent al ingelogd', 'You are already logged in') });
  check(n('already logged in, switched: the same reference and way back'),
    (await page.locator('main code').nth(1).innerText()) === ref &&
    (await page.getByRole('link', { name: T(o, 'Terug naar Demo patientportaal', 'Back to Demo patientportaal') }).count()) === 1);
  await ctx.close();

  // B. Refusals in the ui_locales language; the refusal page switched, its
  // button still tells the portal.
  ctx = await newContext(b);
  page = await ctx.newPage();
  trackStatus(page);
  await open(page, PORTAL + `/login?ui_locales=${o}`);
  await page.waitForURL(TVS + '/**');
  await choose(page, 'Annuleren');
  await inspect(page, o, n(`refusal, ui_locales=${o}`), { ...opt, status: 403,
    expectText: T(o, 'U heeft het inloggen afgebroken', 'You cancelled logging in') });
  await clickSwitch(page, b);
  await inspect(page, b, n('refusal switched'), { ...opt, status: 403,
    expectText: T(b, 'U heeft het inloggen afgebroken', 'You cancelled logging in') });
  await Promise.all([page.waitForURL(PORTAL + '/**'), page.locator('#way-return').click()]);
  check(n('the switched refusal page still tells the portal access_denied'),
    (await page.locator('body').innerText()).includes('access_denied'));
  await ctx.close();
  ctx = await newContext(b);
  page = await ctx.newPage();
  trackStatus(page);
  await open(page, PORTAL + `/login?ui_locales=${o}`);
  await page.waitForURL(TVS + '/**');
  await choose(page, 'DigiD Basis');
  await inspect(page, o, n(`LoA too low, ui_locales=${o}`), { ...opt, status: 403,
    expectText: T(o, 'Voor deze dienst is de DigiD app met ID-check nodig',
      'This service needs the DigiD app with ID check') });
  await open(page, PORTAL + `/login?ui_locales=${o}`);
  await page.waitForURL(TVS + '/**');
  await choose(page, 'Verkeerd wachtwoord');
  await inspect(page, o, n(`authentication failed, ui_locales=${o}`), { ...opt, status: 403,
    expectText: T(o, 'Inloggen niet gelukt', 'Logging in did not succeed') });
  // A professional: the mock Dezi (a GET page: the switch is a link), cancel,
  // the refusal in the ui_locales language; a role without access too.
  await open(page, PORTAL + `/login?method=professional&ui_locales=${o}`);
  await page.waitForURL(DEZI + '/**');
  await inspect(page, b, n('mock Dezi login'), { ...opt, expectText: T(b, 'Kies een testzorgverlener', 'Choose a test professional') });
  await clickSwitch(page, o);
  await inspect(page, o, n('mock Dezi login switched'), { ...opt, status: 200,
    expectText: T(o, 'Kies een testzorgverlener', 'Choose a test professional') });
  await choose(page, T(o, 'Annuleren', 'Cancel'));
  await inspect(page, o, n(`Dezi cancelled, ui_locales=${o}`), { ...opt, status: 403,
    expectText: T(o, 'Inloggen als zorgverlener afgebroken', 'Professional login cancelled') });
  await open(page, PORTAL + `/login?method=professional&ui_locales=${o}`);
  await page.waitForURL(DEZI + '/**');
  await choose(page, '17.000');
  await inspect(page, o, n(`role not allowed, ui_locales=${o}`), { ...opt, status: 403,
    expectText: T(o, 'Uw rol geeft hier geen toegang', 'Your role gives no access here') });
  await ctx.close();

  // C. An error at /authorize in the ui_locales language; its switch is a
  // link to the same address, which gives the same error in the other.
  ctx = await newContext(b);
  page = await ctx.newPage();
  trackStatus(page);
  await open(page, RELAY + '/authorize?' + new URLSearchParams({ response_type: 'code', scope: 'openid', state: 'st',
    client_id: 'demo-portal', redirect_uri: 'https://evil.example/callback', ui_locales: o }));
  await inspect(page, o, n(`unregistered redirect_uri, ui_locales=${o}`), { ...opt, status: 400,
    expectText: T(o, 'Onbekend terugkeeradres', 'Unknown return address') });
  await clickSwitch(page, b);
  await inspect(page, b, n('unregistered redirect_uri switched'), { ...opt, status: 400,
    expectText: T(b, 'Onbekend terugkeeradres', 'Unknown return address') });
  check(n('no request left the test services'), ctx.external.length === 0, ctx.external.join(' '));
  check(n('no Content-Security-Policy violation'), ctx.cspReports.length === 0, ctx.cspReports.join(' | '));
  await ctx.close();
}

// Accept-Language: a language we do not have gives Dutch.
async function walkOtherLanguage() {
  const ctx = await browser.newContext({ extraHTTPHeaders: { 'Accept-Language': 'de-DE,de;q=0.9' } });
  const page = await ctx.newPage();
  await open(page, RELAY + '/no-such-page');
  check('Accept-Language de: Dutch page', (await page.evaluate(() => document.documentElement.lang)) === 'nl');
  await ctx.close();
}

const started = Date.now();
console.log(`# mixed-language check: strings from the ${STRINGS.source} (${Object.entries(STRINGS.strings)
  .map(([l, set]) => `${l} ${set.size}`).join(', ')})`);
check('the strings of both languages are there to check against', FOREIGN.nl.length > 50 && FOREIGN.en.length > 50,
  `${FOREIGN.nl.length} / ${FOREIGN.en.length}`);
// A sentence in both languages' strings was copied without being
// translated (and would pass the page check as the page's own language).
const shared = sharedStrings(STRINGS.strings, ['error=access_denied']);
check('no string of one language copied untranslated into another', shared.length === 0, shared.slice(0, 5).join('; '));
try {
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  // Both languages at once: each walk has its own browser contexts.
  await Promise.all(['nl', 'en'].map(async (lang) => {
    await walk(lang);
    await walkWithoutScript(lang);
    await walkSwitch(lang);
  }));
  await walkOtherLanguage();
} catch (e) {
  fail++;
  console.log(`not ok - the walk stopped: ${e.stack || e}`);
} finally {
  await browser.close();
}
const ids = new Map();
for (const s of axeSummary) for (const v of s.violations) ids.set(`${v.id} (${v.impact})`, (ids.get(`${v.id} (${v.impact})`) || 0) + 1);
console.log(`# axe-core ${require('axe-core/package.json').version}: ${axeSummary.length} pages checked; ` +
  (ids.size ? 'rules with findings: ' + [...ids].map(([k, n]) => `${k} x${n}`).join(', ') : 'no findings'));
console.log(`# browser walk: ${pass} passed, ${fail} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(fail ? 1 : 0);
