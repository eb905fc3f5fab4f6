// Browser checks of the ClinicOS pages: starts `clinicos demo` on a free
// port with a fresh data directory, signs in through the real forms with
// headless Chromium, and on every page runs axe-core (WCAG 2.1 A/AA), looks
// for CSP violations and saves a screenshot of each page.
//
// Env: CLINICOS_BIN (default target/debug/clinicos, relative to the repo).
// Prints "N passed, M failed" last and exits non-zero on any failure.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const bin = path.resolve(repo, process.env.CLINICOS_BIN || 'target/debug/clinicos');
// Screenshots go to target/screenshots on ordinary runs, so tests leave the
// tree clean; set CLINICOS_SCREENSHOT_DIR=docs/screenshots to refresh the docs.
const shots = path.resolve(repo, process.env.CLINICOS_SCREENSHOT_DIR || path.join('target', 'screenshots'));
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const PASSWORD = 'Namaste-Care-2026!'; // clinicos_app::demo::DEMO_PASSWORD
// clinicos_app::demo::organisation::DEMO_TOTP_SECRET: the owner, branch
// admin and privacy officer sign in with a second step, as in every clinic.
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPDEMOCLINICOSTOTP';
let lastTotpStep = -1;

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238 (SHA-1, 6 digits, 30 s). The server accepts a time step once
// per user, so a second sign-in waits for the next step.
async function totpCode() {
  let step = Math.floor(Date.now() / 30000);
  while (step <= lastTotpStep) {
    await new Promise((r) => setTimeout(r, 1000));
    step = Math.floor(Date.now() / 30000);
  }
  lastTotpStep = step;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', base32Decode(TOTP_SECRET)).update(counter).digest();
  const at = h[h.length - 1] & 0x0f;
  const n = ((h[at] & 0x7f) << 24) | (h[at + 1] << 16) | (h[at + 2] << 8) | h[at + 3];
  return String(n % 1000000).padStart(6, '0');
}
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let passed = 0;
let failed = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(base, server, log) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`clinicos exited early (${server.exitCode}):\n${log.join('')}`);
    }
    try {
      const r = await fetch(`${base}/health/ready`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`clinicos did not become ready:\n${log.join('')}`);
}

/** Watch a page for CSP violations and script errors. */
function watch(page) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content[- ]Security[- ]Policy/i.test(m.text())) {
      problems.push(`CSP: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/** One page check: status, axe, CSP, screenshot. */
async function check(page, problems, name, { status = 200, resp = null, expect = null } = {}) {
  const errors = [];
  if (resp && resp.status() !== status) {
    errors.push(`HTTP ${resp.status()} (expected ${status}) at ${page.url()}`);
  }
  try {
    if (expect) {
      const n = await page.locator(expect).count();
      if (n === 0) errors.push(`expected ${expect} on the page`);
    }
    await page.evaluate(axeSource);
    const result = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
      TAGS,
    );
    for (const v of result.violations) {
      const where = v.nodes.slice(0, 5).map((n) => `      ${n.target.join(' ')}: ${n.failureSummary?.split('\n').join(' ')}`);
      errors.push(`axe ${v.id} (${v.impact}): ${v.help}\n${where.join('\n')}`);
    }
    await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  } catch (e) {
    errors.push(`check failed: ${e.message}`);
  }
  errors.push(...problems.splice(0));
  if (errors.length === 0) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name} (${page.url()})`);
    for (const e of errors) console.log(`    ${e}`);
  }
}

async function signIn(page, base, email) {
  await page.goto(`${base}/login`);
  await page.fill('#tenant', 'demo');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([
    page.waitForResponse((r) => r.url() === `${base}/login` && r.request().method() === 'POST'),
    page.click('main form button[type="submit"]'),
  ]);
  await page.waitForLoadState('load');
  // The second step, for the roles that need one.
  if (await page.locator('input[name="mfa_token"]').count()) {
    await page.fill('#code', await totpCode());
    await Promise.all([
      page.waitForURL(`${base}/`),
      page.click('main form button[type="submit"]'),
    ]);
  } else {
    await page.waitForURL(`${base}/`);
  }
}

async function staffTour(browser, base, who, email, lang) {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const problems = watch(page);
  try {
    await signIn(page, base, email);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${who}-sign-in: ${e.message}`);
    await context.close();
    return;
  }
  const htmlLang = await page.getAttribute('html', 'lang');
  if (htmlLang !== lang) problems.push(`expected <html lang="${lang}">, got "${htmlLang}"`);
  await check(page, problems, `${who}-home`, { expect: 'nav a[aria-current="page"]' });

  await page.setViewportSize(PHONE);
  await check(page, problems, `${who}-home-phone`);
  await page.setViewportSize(DESKTOP);

  const links = await page.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href')));
  for (const href of links) {
    if (href === '/') continue;
    const resp = await page.goto(`${base}${href}`);
    const slug = href.replace(/^\//, '').replace(/\//g, '-');
    await check(page, problems, `${who}-${slug}`, { resp, expect: 'h1' });
    // Follow the first detail link of list pages (one branch, one staff member).
    if (href === '/admin/branches' || href === '/admin/staff') {
      const detail = await page.$$eval(`main table a[href^="${href}/"]`, (as) => as.map((a) => a.getAttribute('href')));
      if (detail.length > 0) {
        const r = await page.goto(`${base}${detail[0]}`);
        await check(page, problems, `${who}-${slug}-detail`, { resp: r, expect: 'h1' });
      }
    }
  }

  if (who === 'owner') {
    // A failed form: field errors next to the inputs, 422, still accessible.
    await page.goto(`${base}/admin/organisation`);
    await page.fill('#idle_timeout_minutes', '3');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/admin/organisation` && r.request().method() === 'POST'),
      page.click('form[action="/admin/organisation"] button[type="submit"]'),
    ]);
    await page.waitForLoadState();
    await check(page, problems, 'owner-organisation-errors', {
      resp,
      status: 422,
      expect: '#idle_timeout_minutes-error',
    });
  }
  await context.close();
}

/** A tiny valid PNG (1x1), generated here so the test needs no fixture file. */
const PNG_1X1 = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005000101ff89993d1d0000000049454e44ae426082',
  'hex',
);

/** Submit a form by clicking `button` and wait for the page it leads to. */
async function submit(page, button) {
  const [resp] = await Promise.all([
    page.waitForNavigation(),
    page.click(button),
  ]);
  return resp;
}

/**
 * The patient journey of issue 5, as the demo doctor: register (keyboard
 * only) -> duplicate warning -> search as you type -> open the chart ->
 * join the care team -> add an allergy -> upload a file -> share link
 * (used without a session, revoked) -> photo -> family link; then the
 * front desk opens the same chart (demographics only), and the owner
 * merges a duplicate and undoes it. A screenshot per step.
 */
async function patientJourney(browser, base) {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const problems = watch(page);
  const step = async (name, fn) => {
    try {
      await fn();
    } catch (e) {
      failed += 1;
      console.log(`FAIL ${name}: ${e.message}`);
      throw e;
    }
  };
  try {
    await step('doctor-sign-in', () => signIn(page, base, 'doctor@demo.clinicos.example'));

    // Registration, typed from the keyboard: the given name has focus, Tab
    // moves through the form in reading order.
    let resp = await page.goto(`${base}/patients/new`);
    await check(page, problems, 'patient-register', { resp, expect: '#given_name:focus' });
    await step('patient-register-typing', async () => {
      await page.keyboard.type('Ishaan');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await page.keyboard.type('Verghese');
      await page.fill('#age_years', '41');
      await page.selectOption('#sex', 'male');
      await page.fill('#phone', '99887 76655');
      await page.fill('#city', 'Kochi');
      await page.fill('#tags', 'new-patient');
      const given = await page.inputValue('#given_name');
      const family = await page.inputValue('#family_name');
      if (given !== 'Ishaan' || family !== 'Verghese') throw new Error(`tab order: "${given}" / "${family}"`);
    });
    resp = await submit(page, 'form#register button[type="submit"]:not([name])');
    const chartUrl = page.url();
    await check(page, problems, 'patient-registered', { resp, expect: '#clinical-note' });

    // The same phone and age again: the duplicate warning offers the record.
    await page.goto(`${base}/patients/new`);
    await page.fill('#given_name', 'Ishaan');
    await page.fill('#family_name', 'Verghese');
    await page.fill('#age_years', '41');
    await page.selectOption('#sex', 'male');
    await page.fill('#phone', '99887 76655');
    resp = await submit(page, 'form#register button[type="submit"]:not([name])');
    await check(page, problems, 'patient-duplicate', { resp, status: 409, expect: '#dup-heading' });

    // Search as you type: no submit, the results region updates.
    resp = await page.goto(`${base}/patients`);
    await step('patient-search-typing', async () => {
      await page.click('#q');
      await page.keyboard.type('verg ish', { delay: 40 });
      // The address bar follows once the typed query's results are in.
      await page.waitForURL(/q=verg\+ish/, { timeout: 10_000 });
      const names = await page.$$eval('#patient-results ul.results a', (as) => as.map((a) => a.textContent));
      if (names.length !== 1 || !names[0].includes('Ishaan Verghese')) throw new Error(`results: ${names.join(', ')}`);
      // Down arrow moves from the box into the results.
      await page.keyboard.press('ArrowDown');
      const focused = await page.evaluate(() => document.activeElement?.textContent || '');
      if (!focused.includes('Ishaan')) throw new Error(`focus after ArrowDown: ${focused}`);
    });
    await check(page, problems, 'patient-search', { resp, expect: '#patient-results ul.results' });

    // Open the chart from the results (Enter on the focused link).
    await step('patient-open-chart', async () => {
      await page.focus('#patient-results ul.results a');
      await Promise.all([page.waitForURL(chartUrl), page.keyboard.press('Enter')]);
      if (page.url() !== chartUrl) throw new Error(`opened ${page.url()}, expected ${chartUrl}`);
    });
    await check(page, problems, 'patient-chart-no-care-relationship', { expect: '#clinical-note form' });
    resp = await submit(page, '#clinical-note button[type="submit"]');
    await check(page, problems, 'patient-chart', { resp, expect: '#allergy-banner' });

    // Add an allergy: it appears in the banner.
    await step('patient-add-allergy', async () => {
      await page.click('#allergies details.add summary');
      await page.fill('#allergies-new-substance', 'Penicillin');
      await page.selectOption('#allergies-new-category', 'medication');
      await page.fill('#allergies-new-reaction', 'Hives');
      await page.selectOption('#allergies-new-severity', 'severe');
      await submit(page, '#allergies-add button[type="submit"]');
      const banner = await page.textContent('#allergy-banner');
      if (!banner.includes('Penicillin')) throw new Error(`banner: ${banner}`);
    });
    await check(page, problems, 'patient-allergy', { expect: '#allergy-banner li.severe' });

    // Upload a small PNG made here: listed with an inline preview.
    await step('patient-upload', async () => {
      await page.setInputFiles('#file', { name: 'wound-photo.png', mimeType: 'image/png', buffer: PNG_1X1 });
      await submit(page, '#upload button[type="submit"]');
      await page.waitForSelector('#attachments img.preview');
      const ok = await page.$eval('#attachments img.preview', (img) => img.complete && img.naturalWidth === 1);
      if (!ok) throw new Error('the preview did not load through the download endpoint');
    });
    await check(page, problems, 'patient-attachments', { expect: '#attachments img.preview' });

    // Share link for the uploaded file: its URL is shown once, works in a
    // fresh context without a session, and stops working when revoked.
    let shareUrl = '';
    await step('patient-share-create', async () => {
      await page.click('#attachments details.share summary');
      await page.selectOption('#attachments details.share select', '24');
      await submit(page, '#attachments details.share button[type="submit"]');
      shareUrl = await page.inputValue('#share-url');
      if (!shareUrl.includes('/api/v1/shared/')) throw new Error(`share url: ${shareUrl}`);
    });
    await check(page, problems, 'patient-share-link', { expect: '#share-url' });
    const anon = await browser.newContext({ viewport: DESKTOP });
    await step('patient-share-use', async () => {
      const r = await anon.request.get(shareUrl);
      if (r.status() !== 200) throw new Error(`share link answered ${r.status()}`);
      const type = r.headers()['content-type'] || '';
      if (!type.startsWith('image/png')) throw new Error(`share link served ${type}`);
    });
    await page.goto(chartUrl);
    await step('patient-share-revoke', async () => {
      await submit(page, '#attachments .share-row button[type="submit"]');
      const r = await anon.request.get(shareUrl);
      if (r.status() !== 410) throw new Error(`revoked link answered ${r.status()}`);
      if (await page.locator('#attachments .share-row').count() !== 0) throw new Error('revoked link still listed');
    });
    await anon.close();
    await check(page, problems, 'patient-share-revoked', { expect: '#attachments details.share' });

    // Photo: uploaded from the demographics section, shown in the header.
    await step('patient-photo', async () => {
      await page.setInputFiles('#photo-file', { name: 'ishaan.png', mimeType: 'image/png', buffer: PNG_1X1 });
      await submit(page, '#photo-form button[type="submit"]');
      await page.waitForSelector('.chart-head img.avatar');
      const ok = await page.$eval('.chart-head img.avatar', (img) => img.complete && img.naturalWidth === 1);
      if (!ok) throw new Error('the photo did not load through the page route');
    });
    await check(page, problems, 'patient-photo', { expect: '.chart-head img.avatar' });

    // Family: register a child, then link her from the father's chart by
    // the picker (search, choose), and see the link on both charts.
    await page.goto(`${base}/patients/new`);
    await page.fill('#given_name', 'Kavya');
    await page.fill('#family_name', 'Verghese');
    await page.fill('#age_years', '9');
    await page.selectOption('#sex', 'female');
    await submit(page, 'form#register button[type="submit"]:not([name])');
    const childUrl = page.url();
    await page.goto(chartUrl);
    await step('patient-family-link', async () => {
      await page.click('#family details.add summary');
      await page.selectOption('#link-side', 'responsible');
      await page.selectOption('#link-kind', 'parent');
      await page.fill('#link-find', 'kavya verg');
      await page.waitForSelector('#link-found ul.results a', { timeout: 10_000 });
      await page.click('#link-found ul.results a');
      const picked = await page.inputValue('#link-other');
      if (!childUrl.endsWith(picked)) throw new Error(`picked ${picked}, expected ${childUrl}`);
      await submit(page, '#family-add button[type="submit"]');
      const text = await page.textContent('#family');
      if (!text.includes('Kavya Verghese')) throw new Error(`family: ${text}`);
    });
    await check(page, problems, 'patient-family', { expect: '#family ul.family a' });

    await page.setViewportSize(PHONE);
    await check(page, problems, 'patient-chart-phone');
    await page.setViewportSize(DESKTOP);

    // The front desk opens the same chart: demographics only.
    const desk = await browser.newContext({ viewport: DESKTOP });
    const deskPage = await desk.newPage();
    const deskProblems = watch(deskPage);
    await signIn(deskPage, base, 'front.desk@demo.clinicos.example');
    resp = await deskPage.goto(chartUrl);
    await check(deskPage, deskProblems, 'front-desk-patient-chart', { resp, expect: '#clinical-note' });
    if (await deskPage.locator('#allergies').count() !== 0) {
      failed += 1;
      console.log('FAIL front-desk-patient-chart: clinical sections shown to the front desk');
    }
    await desk.close();

    // Merge and undo, as the owner (the role with patients:merge): a
    // duplicate registered with a misspelt name is merged into the chart
    // after the confirm step, then the merge is undone.
    const own = await browser.newContext({ viewport: DESKTOP });
    const ownPage = await own.newPage();
    const ownProblems = watch(ownPage);
    let dupUrl = '';
    await step('patient-merge-duplicate', async () => {
      // This is the run's sixth sign-in from one address: the sign-in rate
      // limit (5 a minute, a window from its first hit) may refuse it; then
      // wait for that window to end and sign in again.
      try {
        await signIn(ownPage, base, 'owner@demo.clinicos.example');
      } catch {
        await new Promise((r) => setTimeout(r, 61_000));
        await signIn(ownPage, base, 'owner@demo.clinicos.example');
      }
      await ownPage.goto(`${base}/patients/new`);
      await ownPage.fill('#given_name', 'Ishan');
      await ownPage.fill('#family_name', 'Verghese');
      await ownPage.fill('#age_years', '41');
      await ownPage.selectOption('#sex', 'male');
      await submit(ownPage, 'form#register button[type="submit"]:not([name])');
      dupUrl = ownPage.url();
      if (dupUrl.endsWith('/patients/new')) throw new Error('the duplicate was not registered');
    });
    await ownPage.goto(chartUrl);
    await step('patient-merge-pick', async () => {
      await ownPage.click('#merge summary');
      await ownPage.fill('#merge-find', 'ishan verg');
      await ownPage.waitForSelector('#merge-found ul.results a', { timeout: 10_000 });
      await ownPage.click('#merge-found ul.results a');
      const picked = await ownPage.inputValue('#merge-duplicate');
      if (!dupUrl.endsWith(picked)) throw new Error(`picked ${picked}, expected ${dupUrl}`);
      await ownPage.fill('#merge-reason', 'Registered twice, name misspelt');
      await submit(ownPage, '#merge button[type="submit"]');
    });
    await check(ownPage, ownProblems, 'patient-merge-confirm', { expect: 'input[name="confirm"]' });
    resp = await submit(ownPage, 'main form button[type="submit"]');
    await check(ownPage, ownProblems, 'patient-merged-survivor', { resp, expect: '#merged-records' });
    resp = await ownPage.goto(dupUrl);
    await check(ownPage, ownProblems, 'patient-merged', { resp, expect: '#merged-banner' });
    await step('patient-unmerge', async () => {
      await submit(ownPage, '#merged-banner button[type="submit"]');
      if (await ownPage.locator('#merged-banner').count() !== 0) throw new Error('still merged after undo');
    });
    await check(ownPage, ownProblems, 'patient-unmerged', { expect: '#merge summary' });
    await own.close();
  } catch {
    // already counted
  }
  await context.close();
}

async function anonymousPages(browser, base) {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const problems = watch(page);
  let resp = await page.goto(`${base}/login`);
  await check(page, problems, 'sign-in', { resp, expect: '#password' });
  resp = await page.goto(`${base}/forgot-password`);
  await check(page, problems, 'forgot-password', { resp, expect: '#email' });
  resp = await page.goto(`${base}/portal/login`);
  await check(page, problems, 'portal-login', { resp, expect: '#destination' });
  // The code step (the same page whether or not a patient has the number).
  await page.fill('#tenant', 'demo');
  await page.fill('#destination', '+91 90000 00000');
  [resp] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${base}/portal/login` && r.request().method() === 'POST'),
    page.click('form[action="/portal/login"] button[type="submit"]'),
  ]);
  await page.waitForLoadState();
  await check(page, problems, 'portal-code', { resp, expect: '#code' });
  resp = await page.goto(`${base}/no-such-page`);
  await check(page, problems, 'not-found', { resp, status: 404 });
  await context.close();
}

async function operatorConsole(browser, base) {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const problems = watch(page);
  const resp = await page.goto(`${base}/operator/login`);
  await check(page, problems, 'operator-login', { resp, expect: '#password' });
  try {
    await page.fill('#email', 'operator@clinicos.example');
    await page.fill('#password', PASSWORD);
    await Promise.all([
      page.waitForURL(`${base}/operator`),
      page.click('main form button[type="submit"]'),
    ]);
    await check(page, problems, 'operator-console', { expect: 'td code' });
  } catch (e) {
    failed += 1;
    console.log(`FAIL operator-console: ${e.message}`);
  }
  await context.close();
}

async function main() {
  if (!fs.existsSync(bin)) throw new Error(`no clinicos binary at ${bin} (build it or set CLINICOS_BIN)`);
  fs.mkdirSync(shots, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinicos-browser-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const server = spawn(bin, ['demo', '--data-dir', dataDir, '--bind', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => log.push(d.toString()));
  server.stderr.on('data', (d) => log.push(d.toString()));
  let browser;
  try {
    await waitReady(base, server, log);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await anonymousPages(browser, base);
    await staffTour(browser, base, 'owner', 'owner@demo.clinicos.example', 'en');
    await staffTour(browser, base, 'front-desk', 'front.desk@demo.clinicos.example', 'hi');
    await operatorConsole(browser, base);
    await patientJourney(browser, base);
  } finally {
    if (browser) await browser.close();
    server.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  failed += 1;
  console.log(`FAIL setup: ${e.message}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
