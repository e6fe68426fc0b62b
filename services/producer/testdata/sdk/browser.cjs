#!/usr/bin/env node
// Load the SDK compatibility page in headless Chromium (Debian's, never a downloaded one) and run
// its SDK calls; used by services/producer/sdk_compat_test.go.
//
//   NODE_PATH=... node browser.cjs --chromium /usr/bin/chromium --url http://127.0.0.2:PORT/page.html?... \
//       --producer http://127.0.0.1:PORT --expect N [--timeout 60]
//
// It waits until the producer answered N requests (preflights not counted) and prints one JSON
// line: {"result": <what the page's run() returned>, "responses": [{"method", "path", "status"}],
// "preflights": n, "console": [errors], "failed": [requests that failed]}.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const expect = Number(args.expect || 0);
const timeoutMs = Number(args.timeout || 60) * 1000;

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: args.chromium, headless: true, userDataDir: profile, timeout: timeoutMs,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const out = { responses: [], preflights: 0, console: [], failed: [] };
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') out.console.push(m.text().slice(0, 500)); });
    page.on('pageerror', (e) => out.console.push(String(e).slice(0, 500)));
    page.on('requestfailed', (r) => out.failed.push(`${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`));
    page.on('response', (r) => {
      if (!r.url().startsWith(args.producer)) return;
      if (r.request().method() === 'OPTIONS') { out.preflights++; return; }
      out.responses.push({ method: r.request().method(), path: new URL(r.url()).pathname, status: r.status() });
    });
    await page.goto(args.url, { waitUntil: 'load', timeout: timeoutMs });
    out.result = await page.evaluate(() => window.run());
    const deadline = Date.now() + timeoutMs;
    while (out.responses.length < expect && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // sendBeacon responses are not seen as page responses: give the beacon queue time to send, then unload.
    if (expect === 0) {
      await new Promise((r) => setTimeout(r, 1500));
      await page.goto('about:blank');
    }
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
