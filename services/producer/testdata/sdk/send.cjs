#!/usr/bin/env node
// Drive one Node analytics SDK against a consentflow producer (the SDK compatibility suite).
//
// Used by services/producer/sdk_compat_test.go, which checks what lands in events.raw. The
// packages come from NODE_PATH (scripts/sdkenv.sh installs them outside the repository):
//
//   NODE_PATH=... node send.cjs --sdk segment|rudderstack|amplitude|mixpanel --host http://127.0.0.1:PORT \
//       --key KEY --user U --anon A [--tenant T] --group T [--mode calls|retry|invalid]
//
// calls:   the SDK's track, identify, page, group and alias calls (or its equivalents).
// retry:   one track call, which the producer answers 503 with Retry-After before it accepts it.
// invalid: one track call that the producer refuses with a 4xx (no tenant anywhere).
//
// It prints one JSON line on stdout: {"errors": [...]} with every error the SDK reported.
'use strict';

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
args.mode = args.mode || 'calls';
const errors = [];
const TRAITS = { name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro' };
const TRACK_PROPS = { issue: 'ABC-1', points: 3, text: 'Mail me at ada@example.com' };
const single = args.mode === 'retry' ? 'Retried' : 'Refused';

async function segment() {
  const { Analytics } = require('@segment/analytics-node');
  const a = new Analytics({ writeKey: args.key, host: args.host, flushInterval: 200, maxEventsInBatch: 20, maxRetries: 3 });
  a.on('error', (e) => errors.push(String((e && (e.reason || e.message)) || e)));
  const context = args.tenant ? { groupId: args.tenant } : {};
  if (args.mode === 'calls') {
    a.identify({ userId: args.user, anonymousId: args.anon, traits: TRAITS, context });
    a.track({ userId: args.user, event: 'Issue Created', properties: TRACK_PROPS, context });
    a.page({ userId: args.user, category: 'Docs', name: 'Home', properties: { path: '/home' }, context });
    a.group({ userId: args.user, groupId: args.group, traits: { plan: 'pro' }, context });
    a.alias({ userId: args.user, previousId: args.anon, context });
  } else {
    a.track({ userId: args.user, event: single, properties: { n: 1 }, context });
  }
  await a.closeAndFlush({ timeout: 60000 });
}

async function rudderstack() {
  const Analytics = require('@rudderstack/rudder-sdk-node');
  const a = new Analytics(args.key, {
    dataPlaneUrl: args.host, flushAt: 20, flushInterval: 200, retryCount: 3,
    errorHandler: (e) => errors.push(String((e && e.message) || e)),
  });
  const context = args.tenant ? { groupId: args.tenant } : {};
  if (args.mode === 'calls') {
    a.identify({ userId: args.user, anonymousId: args.anon, traits: TRAITS, context });
    a.track({ userId: args.user, event: 'Issue Created', properties: TRACK_PROPS, context });
    a.page({ userId: args.user, category: 'Docs', name: 'Home', properties: { path: '/home' }, context });
    a.group({ userId: args.user, groupId: args.group, traits: { plan: 'pro' }, context });
    a.alias({ userId: args.user, previousId: args.anon, context });
  } else {
    a.track({ userId: args.user, event: single, properties: { n: 1 }, context });
  }
  await new Promise((resolve) => a.flush((err) => { if (err) errors.push(String(err.message || err)); resolve(); }));
}

async function amplitude() {
  const amp = require('@amplitude/analytics-node');
  const client = amp.createInstance();
  await client.init(args.key, { serverUrl: args.host + '/2/httpapi', flushQueueSize: 20, flushIntervalMillis: 200, flushMaxRetries: 3, logLevel: 0 }).promise;
  const results = [];
  const tenant = args.tenant ? { tenant_id: args.tenant } : {};
  if (args.mode === 'calls') {
    results.push(client.track('Issue Created', { ...TRACK_PROPS, ...tenant }, { user_id: args.user, device_id: args.anon }).promise);
    const id = new amp.Identify();
    for (const [k, v] of Object.entries({ ...TRAITS, ...tenant })) id.set(k, v);
    results.push(client.identify(id, { user_id: args.user, device_id: args.anon }).promise);
    results.push(client.track('[Amplitude] Page Viewed', { page_path: '/home', page_title: 'Home', ...tenant }, { user_id: args.user, device_id: args.anon }).promise);
    const group = new amp.Identify();
    group.set('plan', 'pro');
    results.push(client.groupIdentify('company', args.group, group, { user_id: args.user }).promise);
  } else {
    results.push(client.track(single, { n: 1, ...tenant }, { user_id: args.user }).promise);
  }
  // The results resolve when the SDK is done with each event: sent, or dropped after its retries.
  // No explicit flush first: client.flush() sends once without retrying (Destination.flush(useRetry
  // = false)), while the SDK's own scheduled flush, what an application relies on, retries.
  const settled = await Promise.all(results);
  await client.flush().promise;
  for (const r of settled) {
    if (r.code !== 200) errors.push(`${r.code}: ${r.message} (${r.event.event_type})`);
  }
}

async function mixpanel() {
  const Mixpanel = require('mixpanel');
  const u = new URL(args.host);
  // key: the legacy API key, which /import accepts over http (an API secret or service account needs https).
  const mp = Mixpanel.init(args.key, { host: u.host, protocol: 'http', keepAlive: false, key: 'not-checked-by-consentflow' });
  const call = (what, fn) => new Promise((resolve) => fn((err) => { if (err) errors.push(`${what}: ${err.message || err}`); resolve(); }));
  const tenant = args.tenant ? { tenant_id: args.tenant } : {};
  if (args.mode === 'calls') {
    await call('track', (cb) => mp.track('Issue Created', { distinct_id: args.user, ...TRACK_PROPS, ...tenant }, cb));
    await call('people.set', (cb) => mp.people.set(args.user, { $name: TRAITS.name, $email: TRAITS.email, plan: 'pro', ...tenant }, cb));
    await call('page', (cb) => mp.track('$mp_web_page_view', { distinct_id: args.user, current_url_path: '/home', current_page_title: 'Home', ...tenant }, cb));
    // Group membership is a profile property in Mixpanel (group profiles, /groups, name no person).
    await call('group', (cb) => mp.people.set(args.user, { company: args.group, ...tenant }, cb));
    await call('alias', (cb) => mp.alias(args.anon, args.user, cb));
    await call('track_batch', (cb) => mp.track_batch([
      { event: 'Anonymous Visit', properties: { distinct_id: '$device:' + args.anon, $device_id: args.anon, ...tenant } },
    ], cb));
    await call('import', (cb) => mp.import('Imported Event', Math.floor(Date.now() / 1000) - 3600, { distinct_id: args.user, batch: 'old', ...tenant }, cb));
  } else {
    await call('track', (cb) => mp.track(single, { distinct_id: args.user, n: 1, ...tenant }, cb));
  }
}

const run = { segment, rudderstack, amplitude, mixpanel }[args.sdk];
if (!run) {
  console.error(`unknown --sdk ${args.sdk}`);
  process.exit(2);
}
run().then(() => {
  console.log(JSON.stringify({ errors }));
  process.exit(0);
}).catch((e) => {
  console.error(e && e.stack || e);
  process.exit(1);
});
