// The dashboard in a real browser: Debian's chromium driven by puppeteer-core, with
// axe-core for WCAG 2.2 A/AA. Run by tests/browser.rs against a running flowd:
//
//   node dashboard.test.js --base http://127.0.0.1:PORT --site ID --out DIR \
//        --chromium /usr/bin/chromium --event '{"id":...}'
//
// Checks: screenshots at 1366x900 and 390x844; live update (posts --event, the DOM
// shows the new plan version and the live region announces it); axe reports no
// violations on /dashboard and the site view at 1366 and 320 px wide, and does
// report a control page's contrast fault; every control is reachable by Tab, shows
// a focus ring, and is at least 24x24 px. Prints one JSON summary; exits 1 on failure.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');
const axe = require('axe-core');

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const base = arg('base');
const site = arg('site');
const out = arg('out', 'artifacts');
const chromium = arg('chromium', '/usr/bin/chromium');
const event = JSON.parse(arg('event', 'null'));
const failures = [];
const summary = { screenshots: [], axe: {}, keyboard: {}, live: {} };

function fail(msg) { failures.push(msg); }

async function runAxe(page) {
  await page.evaluate(axe.source);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
}

async function open(browser, url, width, height) {
  const page = await browser.newPage();
  await page.setViewport({ width, height, deviceScaleFactor: 1 });
  await page.goto(url, { waitUntil: 'load' });
  // The script connects to /v1/stream and says so.
  await page.waitForFunction(() => {
    const el = document.getElementById('live-state');
    return el && (el.textContent === 'Live' || el.textContent === 'Plan older than the latest event');
  }, { timeout: 30000 });
  return page;
}

async function keyboard(page) {
  // Every control a keyboard user should reach.
  const controls = await page.evaluate(() => {
    const sel = 'a[href], button, select, input, [tabindex="0"]';
    return Array.from(document.querySelectorAll(sel)).map((el, i) => {
      el.setAttribute('data-kb', String(i));
      return i;
    });
  });
  const reached = new Set();
  const problems = [];
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  for (let n = 0; n < controls.length + 10; n++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) { return null; }
      const cs = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return {
        kb: el.getAttribute('data-kb'),
        tag: el.tagName.toLowerCase(),
        text: (el.textContent || '').trim().slice(0, 40),
        ring: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2,
        w: r.width,
        h: r.height,
        region: el.getAttribute('role') === 'region',
      };
    });
    if (!info || info.kb === null) { continue; }
    if (reached.has(info.kb)) { break; }
    reached.add(info.kb);
    if (!info.ring) { problems.push(`no focus ring on ${info.tag} "${info.text}"`); }
    if (!info.region && (info.w < 24 || info.h < 24)) {
      problems.push(`target ${info.tag} "${info.text}" is ${info.w.toFixed(0)}x${info.h.toFixed(0)} px`);
    }
  }
  const unreached = controls.filter((i) => !reached.has(String(i)));
  if (unreached.length) { problems.push(`${unreached.length} controls not reachable by Tab`); }
  return { controls: controls.length, reached: reached.size, problems };
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: [
      '--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--disable-dev-shm-usage', `--user-data-dir=${profile}`,
    ],
  });
  try {
    // Screenshots.
    for (const [w, h] of [[1366, 900], [390, 844]]) {
      const page = await open(browser, `${base}/dashboard`, w, h);
      const file = path.join(out, `dashboard-${w}x${h}.png`);
      await page.screenshot({ path: file });
      summary.screenshots.push(file);
      if (w === 1366) {
        const full = path.join(out, `dashboard-${w}-full.png`);
        await page.screenshot({ path: full, fullPage: true });
        summary.screenshots.push(full);
      }
      await page.close();
    }

    // axe at 1366 and 320 px, the trust and one site.
    for (const url of ['/dashboard', `/dashboard?site=${encodeURIComponent(site)}`]) {
      for (const w of [1366, 320]) {
        const page = await open(browser, base + url, w, 800);
        const v = await runAxe(page);
        summary.axe[`${url} @${w}`] = v.length;
        if (v.length) { fail(`axe ${url} @${w}px: ${JSON.stringify(v)}`); }
        await page.close();
      }
    }
    // The control: a contrast fault axe must catch.
    {
      const page = await browser.newPage();
      await page.setContent('<!doctype html><html lang="en"><head><title>control</title></head><body><main><h1>Control</h1><p style="color:#c8c8c8;background:#ffffff">Low contrast text</p></main></body></html>');
      const v = await runAxe(page);
      summary.axe.control = v.map((x) => x.id);
      if (!v.some((x) => x.id === 'color-contrast')) { fail('axe missed the control page contrast fault'); }
      await page.close();
    }

    // Nothing by colour alone: every red cell says why in words, every level card
    // names its level, the chart says "Over" beside each red marker.
    {
      const page = await open(browser, `${base}/dashboard`, 1366, 900);
      const bad = await page.evaluate(() => {
        const words = /Over|Reserve eroded|short/;
        const cells = Array.from(document.querySelectorAll('td.bad')).filter((c) => !words.test(c.textContent));
        const cards = Array.from(document.querySelectorAll('.level-card')).filter((c) => !/Level \d|OPEL \d|None declared/.test(c.textContent));
        const marks = document.querySelectorAll('svg .mark').length;
        const overs = document.querySelectorAll('svg text.over').length;
        return { cells: cells.length, cards: cards.length, marks, overs };
      });
      summary.colour = bad;
      if (bad.cells || bad.cards || bad.marks !== bad.overs) { fail(`colour alone: ${JSON.stringify(bad)}`); }
      await page.close();
    }

    // Keyboard: Tab reaches every control, each with a ring, each ≥ 24x24.
    {
      const page = await open(browser, `${base}/dashboard`, 1366, 900);
      summary.keyboard = await keyboard(page);
      for (const p of summary.keyboard.problems) { fail(`keyboard: ${p}`); }
      await page.close();
    }

    // Live update: post an event that changes the plan; the DOM follows.
    if (event) {
      const page = await open(browser, `${base}/dashboard`, 1366, 900);
      const before = Number(await page.$eval('#plan-version', (el) => el.textContent));
      // Focus sits inside <main>, on the capacity table's scroll region.
      await page.focus('#capacity .scroll');
      const r = await fetch(`${base}/v1/events`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event) });
      if (!r.ok) { fail(`posting the event: HTTP ${r.status}`); }
      await page.waitForFunction((v) => Number(document.getElementById('plan-version').textContent) > v, { timeout: 60000 }, before);
      const after = Number(await page.$eval('#plan-version', (el) => el.textContent));
      const announced = await page.$eval('#announce', (el) => el.textContent);
      const focus = await page.evaluate(() => {
        const el = document.activeElement;
        return el && el.closest('section') ? el.closest('section').id + ' ' + el.getAttribute('aria-labelledby') : String(el && el.tagName);
      });
      summary.live = { before, after, announced, focus };
      if (announced !== `Plan updated to version ${after}`) { fail(`live region said "${announced}"`); }
      if (focus !== 'capacity cap-cap') { fail(`focus moved to ${focus}`); }
      await page.screenshot({ path: path.join(out, 'dashboard-after-update.png') });
      await page.close();
    }
  } catch (e) {
    fail(String(e && e.stack || e));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  summary.failures = failures;
  console.log(JSON.stringify(summary, null, 2));
  process.exit(failures.length ? 1 : 0);
})();
