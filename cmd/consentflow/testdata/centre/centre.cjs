// Drive the privacy centre in headless Chromium (Debian's) for
// cmd/consentflow/centre_browser_test.go: one step per call, a JSON report on stdout.
//
//   node centre.cjs --step user|admin --url <signed page URL> --chromium <path> [--shots <dir>] [--click <purpose>]
//
// Every step loads the page at a phone and a desktop width, runs axe-core (WCAG 2 A/AA rules) and
// reports its violations, reads what the page says per purpose, optionally saves screenshots, and
// with --click presses that purpose's switch with the keyboard (Tab to the button, Enter) and
// reports the page the form's redirect lands on. No JavaScript of the page is involved: the pages
// have none; the switch is a plain form post.
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const puppeteer = require('puppeteer-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

const sizes = { phone: { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }, desktop: { width: 1280, height: 900 } };

async function read(page) {
  return page.evaluate(() => {
    const purposes = {};
    for (const a of document.querySelectorAll('article.purpose')) {
      purposes[a.id] = {
        status: a.querySelector('.badge').dataset.status,
        reason: a.querySelector('.why').dataset.reason || '',
        text: a.innerText,
        receipt: !!a.querySelector('[data-receipt]'),
        pending: !!a.querySelector('[data-pending]'),
        withdrawn: !!a.querySelector('[data-withdrawn]'),
        choices: a.querySelectorAll('[data-choice]').length,
      };
    }
    const counts = {};
    for (const tr of document.querySelectorAll('tr[data-purpose]')) {
      counts[tr.dataset.purpose] = { in: +tr.querySelector('[data-in]').innerText, out: +tr.querySelector('[data-out]').innerText, none: +tr.querySelector('[data-none]').innerText };
    }
    const foreign = [...document.querySelectorAll('[src],[href]')].map((e) => e.getAttribute('src') || e.getAttribute('href')).filter((u) => /^(https?:)?\/\//.test(u));
    return { title: document.title, h1: document.querySelector('h1').innerText, purposes, counts, foreign, scripts: document.scripts.length };
  });
}

async function axe(page) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
  return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
}

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'centre-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: args.chromium, headless: true, userDataDir: profile, timeout: 60000,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  const out = { step: args.step, views: {} };
  try {
    const page = await browser.newPage();
    const external = [];
    page.on('request', (r) => { if (!r.url().startsWith(new URL(args.url).origin)) external.push(r.url()); });
    for (const [name, vp] of Object.entries(sizes)) {
      await page.setViewport(vp);
      const resp = await page.goto(args.url, { waitUntil: 'load', timeout: 30000 });
      const view = { status: resp.status(), ...(await read(page)), violations: await axe(page) };
      if (args.shots) {
        fs.mkdirSync(args.shots, { recursive: true });
        await page.screenshot({ path: path.join(args.shots, `centre-${args.step}-${name}.png`), fullPage: name === 'phone' ? false : true });
      }
      out.views[name] = view;
    }
    if (args.click) {
      // Keyboard only: focus moves with Tab until the purpose's switch has it, then Enter.
      await page.goto(args.url, { waitUntil: 'load' });
      let found = false;
      for (let i = 0; i < 60 && !found; i++) {
        await page.keyboard.press('Tab');
        found = await page.evaluate((p) => document.activeElement && document.activeElement.matches(`#${p} button.switch`), args.click);
      }
      if (!found) throw new Error(`no keyboard-reachable switch for ${args.click}`);
      const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
      out.after = { status: resp.status(), url: page.url(), ...(await read(page)), notice: await page.$eval('.notice', (e) => e.innerText).catch(() => '') };
      if (args.shots) await page.screenshot({ path: path.join(args.shots, `centre-${args.step}-after.png`), fullPage: true });
    }
    out.external = external;
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
