// web_test.js - the gateway's web pages in headless Chromium (TAP).
//
// The whole suite runs under the launcher (build/sfa), replaying
// fabric-demo.pcap at the capture's pace in a loop, so values keep
// changing; HTTP on a free port of 127.0.0.1. Debian's chromium, driven by
// playwright-core (executablePath, no browser download), loads:
//   * / (redirected to the status page): the agents count equals the
//     capture's agents (fabric-demo.pcap.expected.json), the datagram
//     counters change between two reads, every service shows OK and the
//     aggregators' bucket shares add up to 100 %;
//   * Browse Flows at the seed's path: the chart has series for the top
//     flows (10.4.1.2,10.4.2.2 among them), the page asked the server for
//     value=bytes (bps translated), values and times change between two
//     reads, and clicking a key cell sets the filter (input and URL) and the
//     new view only holds flows of that key;
//   * Browse Flows with the chart library blocked: the table alone, with a
//     notice (the documented fallback when npm was unavailable at build).
// No page may throw. Screenshots: --artifacts DIR (status.png,
// browse.png, browse-drilldown.png, browse-nochart.png).
//
// Usage: node web_test.js --build B --data D --work W --npm NPMDIR
//        --chromium /usr/bin/chromium --artifacts DIR
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

const { chromium } = require(path.join(args.npm, 'node_modules', 'playwright-core'));

const TOP_KEY = '10.4.1.2,10.4.2.2';
const BROWSE_PATH = '/app/browse-flows/html/index.html?keys=ipsource%2Cipdestination&value=bps';

let n = 0;
let failed = 0;
function ok(cond, what, detail) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${what}`);
  if (!cond && detail !== undefined)
    String(detail).split('\n').slice(0, 20).forEach((l) => console.log('# ' + l));
  return cond;
}
function note(text) { console.log('# ' + text); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function getJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

// Poll fn() until it returns a truthy value or ms pass; returns the last value.
async function until(fn, ms, step = 250) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    try { v = await fn(); } catch (e) { v = undefined; }
    if (v || Date.now() > end) return v;
    await sleep(step);
  }
}

function startSuite(port, work) {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const log = fs.openSync(path.join(work, 'sfa.log'), 'w');
  return spawn(path.join(args.build, 'sfa'), [
    `-Dsflow.file=${path.join(args.data, 'fabric-demo.pcap')}`, '-Dsflow.file.loop=yes',
    '-Dsflow.port=0', `-Dhttp.port=${port}`, '-Dhttp.hostname=127.0.0.1',
    `-Dsfa.rundir=${path.join(work, 'run')}`, `-Dsfa.state=${path.join(work, 'state')}`,
    `-Dhttp.html.dir=${path.join(args.build, 'services', 'gateway', 'www')}`,
  ], { stdio: ['ignore', log, log] });
}

async function stopSuite(proc) {
  if (!proc || proc.exitCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([done, sleep(8000)]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}

async function statusPage(page, base, agentsExpected) {
  const res = await page.goto(base + '/');
  ok(res && res.ok() && page.url().endsWith('/html/index.html'), '/ redirects to the status page',
    page.url());
  const count = await until(async () => {
    const t = (await page.textContent('#agents-count')).trim();
    return t === String(agentsExpected) ? t : null;
  }, 20000);
  ok(count === String(agentsExpected), `status page shows ${agentsExpected} sFlow agents`,
    await page.textContent('#agents-count'));
  const d1 = await page.textContent('#datagrams-total');
  await sleep(2500);
  const d2 = await page.textContent('#datagrams-total');
  ok(d1 !== d2 && /received/.test(d2), 'datagram counters update live', `${d1} / ${d2}`);
  const rate = await until(async () => {
    const t = (await page.textContent('#datagrams-rate')).trim();
    return /^[0-9]/.test(t) ? t : null;
  }, 5000);
  ok(!!rate, 'datagrams/s is computed client side', rate);
  const services = await page.$$eval('#services tbody tr', (rows) => rows.map((r) =>
    Array.from(r.cells).map((c) => c.textContent.trim())));
  const roles = services.map((r) => r[1]);
  ok(['gateway', 'collector', 'aggregator', 'events'].every((x) => roles.includes(x)) &&
    services.every((r) => r[2] === 'OK'), 'every service is listed and OK',
  JSON.stringify(services));
  const shares = await page.$$eval('#shares tbody tr', (rows) => rows.map((r) =>
    parseFloat(r.cells[2] ? r.cells[2].textContent : 'NaN')));
  const sum = shares.reduce((a, b) => a + b, 0);
  ok(shares.length >= 1 && Math.abs(sum - 100) < 0.2, 'aggregators\' bucket shares add up to 100 %',
    JSON.stringify(shares));
  const agentRows = await page.$$eval('#agents tbody tr', (rows) => rows.length);
  ok(agentRows === agentsExpected, 'the agents table lists every agent', agentRows);
  ok(await page.$('#rate-chart .uplot') !== null, 'the input chart is drawn');
  await page.screenshot({ path: path.join(args.artifacts, 'status.png'), fullPage: true });
}

async function browsePage(page, base) {
  const requests = [];
  page.on('request', (r) => { if (r.url().includes('/top.js/flows/json')) requests.push(r.url()); });
  await page.goto(base + BROWSE_PATH);
  ok(await page.inputValue('#keys') === 'ipsource,ipdestination' &&
    await page.inputValue('#value') === 'bps', 'keys and value come from the URL');
  const keys = await until(async () => {
    const k = await page.evaluate(() => window.sfaBrowse.seriesKeys());
    return k.includes(TOP_KEY) ? k : null;
  }, 30000);
  ok(!!keys, `the chart has a series for ${TOP_KEY}`,
    JSON.stringify(await page.evaluate(() => window.sfaBrowse.seriesKeys())));
  const nseries = await page.evaluate(() => window.sfaBrowse.chartSeries());
  ok(nseries >= 3, `the chart has series for the top flows (${nseries})`);
  ok(requests.length > 0 && requests.every((u) => new URL(u).searchParams.get('value') === 'bytes'),
    'bps is asked of the server as value=bytes', requests.slice(0, 3).join('\n'));
  const r1 = await page.evaluate(() => ({ t: window.sfaBrowse.lastTime(), p: window.sfaBrowse.latest(),
    n: window.sfaBrowse.points() }));
  const cell1 = await page.textContent('#flows tbody tr:first-child td.num');
  await sleep(2500);
  const r2 = await page.evaluate(() => ({ t: window.sfaBrowse.lastTime(), p: window.sfaBrowse.latest(),
    n: window.sfaBrowse.points() }));
  const cell2 = await page.textContent('#flows tbody tr:first-child td.num');
  const k = TOP_KEY.replace(',', '_SEP_');
  ok(r2.t > r1.t && r2.n > r1.n, 'new points arrive every second', `${JSON.stringify([r1.t, r1.n])} -> ${JSON.stringify([r2.t, r2.n])}`);
  ok(r1.p[k] !== r2.p[k] && cell1 !== cell2, 'values change between two reads',
    `${r1.p[k]} / ${r2.p[k]}; table ${cell1} / ${cell2}`);
  ok(/bps$/.test(cell2.trim()), 'the table shows bits per second', cell2);
  // Let the strip chart fill for a while, so the screenshot shows its shape.
  await until(async () => (await page.evaluate(() => window.sfaBrowse.points())) >= 20, 30000, 500);
  await page.screenshot({ path: path.join(args.artifacts, 'browse.png'), fullPage: true });

  // Drill down: the ipsource cell of the top flow.
  const top = await page.$$eval('#flows tbody tr:first-child td.key', (tds) => tds.map((t) => t.textContent));
  await page.click('#flows tbody tr:first-child td.key >> nth=0');
  const want = `'ipsource'='${top[0]}'`;
  ok(await page.inputValue('#filter') === want, 'drill-down sets the filter input', await page.inputValue('#filter'));
  ok(new URL(page.url()).searchParams.get('filter') === want, 'drill-down puts the filter in the URL', page.url());
  const filtered = await until(async () => {
    const s = await page.evaluate(() => window.sfaBrowse.seriesKeys());
    return s.length > 0 && s.every((x) => x.startsWith(top[0] + ',')) ? s : null;
  }, 30000);
  ok(!!filtered, `the drilled-down view holds only flows from ${top[0]}`,
    JSON.stringify(await page.evaluate(() => window.sfaBrowse.seriesKeys())));
  await page.screenshot({ path: path.join(args.artifacts, 'browse-drilldown.png'), fullPage: true });
}

async function browseNoChart(context, base) {
  const page = await context.newPage();
  await page.route('**/uPlot.iife.min.js', (r) => r.abort());
  await page.goto(base + BROWSE_PATH);
  const rows = await until(async () => {
    const n = await page.$$eval('#flows tbody tr td.key', (tds) => tds.length);
    return n > 0 ? n : null;
  }, 30000);
  ok(!!rows && await page.isVisible('#nochart'), 'without the chart library the table and a notice show');
  await page.screenshot({ path: path.join(args.artifacts, 'browse-nochart.png'), fullPage: true });
  await page.close();
}

async function main() {
  const expected = JSON.parse(fs.readFileSync(path.join(args.data, 'fabric-demo.pcap.expected.json')));
  const agentsExpected = Object.keys(expected.truth.agents).length;
  fs.mkdirSync(args.artifacts, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const work = path.join(args.work, 'web-' + process.pid);
  const suite = startSuite(port, work);
  let browser = null;
  try {
    const up = await until(async () => (await getJSON(base + '/analyzer/json')).sFlowAgents === agentsExpected, 60000, 500);
    ok(!!up, `the suite is up and has seen ${agentsExpected} agents`);
    const profile = fs.mkdtempSync(path.join(work, 'chromium-'));
    // A fresh profile directory (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: args.chromium,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = browser;
    const errors = [];
    context.on('page', (p) => p.on('pageerror', (e) => errors.push(e.message)));
    const page = await context.newPage();
    await statusPage(page, base, agentsExpected);
    await browsePage(page, base);
    await browseNoChart(context, base);
    ok(errors.length === 0, 'no page threw', errors.join('\n'));
    note(`screenshots in ${args.artifacts}`);
  } catch (e) {
    ok(false, 'the browser test ran to the end', e.stack || e);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopSuite(suite);
  }
  if (failed) {
    const log = path.join(work, 'sfa.log');
    if (fs.existsSync(log)) fs.readFileSync(log, 'utf8').split('\n').slice(-15).forEach((l) => note(l));
  } else {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

main();
