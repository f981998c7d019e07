import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { expect, test } from 'vitest';
import { bucket } from '@strata/core';
import { shelfwiseManifest, tenantIds, tenants } from '../../examples/shelfwise/shelfwise.js';
import { repoRoot, startStack, waitFor, type Json } from './stack-fixture.js';

/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core) against a
 * real stack: the ShelfWise story walked through the UI, a screenshot per step in
 * test/artifacts/console/, no browser console error allowed, a reader that sees no edit controls
 * (and whose hand-made write is refused), and a secret's plaintext nowhere in the page or its
 * network answers until a secret reader reveals it.
 */

const chromiumPath = process.env.STRATA_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = path.join(repoRoot, 'test/artifacts/console');
const ns = 'shelfwise';
const env = 'prod';
const scope = `/v1/namespaces/${ns}/envs/${env}`;
const flag = 'ai_recommendations';
/** Waits generously: the machine is loaded, and the views trail the log by a moment. */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 100 });
const rateKey = 'rate_limit.requests_per_minute';

test('an operator walks the ShelfWise story through the console; readers see only what they may', async () => {
  expect(
    existsSync(path.join(repoRoot, 'packages/console/dist/index.html')),
    'the console is built (bash scripts/install.sh)',
  ).toBe(true);
  await using stack = await startStack({ env: { LOG_LEVEL: 'warn' } });
  const ok = async (method: string, apiPath: string, body?: unknown, token?: string): Promise<Json> => {
    const answer = await stack.call(method, apiPath, body, token);
    expect(answer.status, `${method} ${apiPath}: ${answer.text}`).toBeLessThan(300);
    return answer.body;
  };

  // The story so far, by API: manifest, tenant B's limit, the beta and restricted overrides, a secret.
  // A cadence short enough that the secret is overdue when the console shows it.
  const manifest = {
    ...shelfwiseManifest,
    secrets: { erp_api_key: { ...shelfwiseManifest.secrets['erp_api_key'], rotateEvery: 'PT2S' } },
  };
  await ok('PUT', `/v1/namespaces/${ns}/manifest`, { ...manifest, reason: 'ShelfWise settings model' });
  await ok('PUT', `${scope}/tenants/${tenants.b}/config/${rateKey}`, { value: 10000, reason: 'largest customer' });
  await ok('PUT', `${scope}/tenants/${tenants.beta}/flags/${flag}`, { override: 'enabled', reason: 'beta partner' });
  await ok('PUT', `${scope}/tenants/${tenants.restricted}/flags/${flag}`, { override: 'disabled', reason: 'contract' });
  const marker = `erp-key-${Math.random().toString(36).slice(2)}-CONSOLE-MARKER`;
  await ok('PUT', `${scope}/tenants/${tenants.publisher}/secrets/erp_api_key`, { value: marker, reason: 'onboarding' });
  const reader = (await ok('POST', '/v1/tokens', { role: 'reader', namespace: ns, env, description: 'dashboard' }))
    .token as string;
  const secretReader = (
    await ok('POST', '/v1/tokens', {
      role: 'secret-reader',
      namespace: ns,
      env,
      tenant: tenants.publisher,
      description: 'publisher integration',
    })
  ).token as string;

  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-console-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 1000 },
    acceptDownloads: true,
  });
  const consoleErrors: string[] = [];
  const answers: { url: string; body: string }[] = [];
  // Change streams the page opened (StrataApi's follower): the timeline's only live source.
  const changeStreams: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('response', (response) => {
      if ((response.headers()['content-type'] ?? '').includes('event-stream')) {
        if (response.status() === 200) changeStreams.push(new URL(response.url()).pathname);
        return;
      }
      void response
        .text()
        .then((body) => answers.push({ url: response.url(), body }))
        .catch(() => undefined);
    });
    let step = 0;
    const shot = async (name: string) => {
      step++;
      await page.screenshot({
        path: path.join(artifacts, `${String(step).padStart(2, '0')}-${name}.png`),
        fullPage: true,
      });
    };
    const signIn = async (token: string) => {
      await page.goto(`${stack.url}/console/`);
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await poll(() => page.getByTestId('who').isVisible()).toBe(true);
    };
    const section = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true });
    const scopeForm = () => page.getByRole('form', { name: 'Scope' });
    const text = (testId: string) => page.getByTestId(testId).innerText();

    // 1. Sign in (the token never lands in the URL).
    await page.goto(`${stack.url}/console/`);
    await page.getByLabel('API token').fill(stack.adminToken);
    expect(await page.content()).not.toContain(stack.adminToken);
    await shot('sign-in');
    // By keyboard: Enter submits, and the first Tab lands on the skip link.
    await page.getByLabel('API token').press('Enter');
    await poll(() => text('who')).toContain('role admin');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').innerText()).toBe('Skip to content');
    expect(page.url()).not.toContain(stack.adminToken);
    // A reload keeps the session (session storage), and a deep link opens its section.
    await page.goto(`${stack.url}/console/history`);
    await poll(() => page.getByRole('heading', { level: 2 }).innerText()).toBe('History');
    await section('Config').click();
    await poll(() => scopeForm().getByLabel('Namespace').inputValue()).toBe(ns);
    await poll(() => scopeForm().getByLabel('Environment').inputValue()).toBe(env);
    await poll(() => text('live')).toContain('Live: change stream');
    await poll(async () => changeStreams).toContain(`${scope}/changes`);

    // 2. Change tenant A's rate limit: the manifest's validation inline, then the write followed.
    await scopeForm().getByLabel('Tenant', { exact: true }).fill(tenants.a);
    await poll(() => text(`value-${rateKey}`)).toBe('100');
    await page.getByRole('button', { name: `Edit ${rateKey}` }).click();
    const edit = page.getByRole('form', { name: `Edit ${rateKey}` });
    await edit.getByLabel(/New value/).fill('0');
    await edit.getByLabel('Reason').fill('contract: tier 2');
    await poll(() => edit.getByRole('alert').first().innerText()).toContain(rateKey);
    expect(await edit.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await shot('config-invalid-value');
    await edit.getByLabel(/New value/).fill('1000');
    await edit.getByRole('button', { name: 'Save' }).click();
    await poll(() => text(`value-${rateKey}`)).toBe('1000');
    const written = Number(await text('written-position'));
    expect(written).toBeGreaterThan(0);
    const resolvedA = await ok('GET', `${scope}/tenants/${tenants.a}/config?minPosition=${written}`);
    expect(resolvedA.values[rateKey]).toMatchObject({ value: 1000, source: 'tenant', position: written });
    await shot('config-saved');

    // 3. Ramp the flag to 25% with the who-flips preview over ShelfWise's 200 tenants.
    await section('Flags').click();
    const rollout = page.getByRole('form', { name: `Change the rollout of ${flag}` });
    await rollout.getByLabel('Tenants to preview').fill(tenantIds.join('\n'));
    await rollout.getByLabel('Rollout (number)').fill('25');
    const pinned = new Set([tenants.beta, tenants.restricted]);
    const turnOn = tenantIds.filter((t) => !pinned.has(t) && bucket(t, flag) < 25);
    await poll(() => text('who-flips')).toContain(
      `${turnOn.length} of ${tenantIds.length} tenant(s) change — ${turnOn.length} turn on, 0 turn off`,
    );
    expect(await text('who-flips')).toContain(turnOn[0]!);
    await shot('flags-who-flips-preview');
    await rollout.getByLabel('Reason').fill('ramp to 25%');
    await rollout.getByRole('button', { name: 'Save rollout 25%' }).click();
    await poll(() => rollout.getByRole('status').last().innerText()).toMatch(/Saved at position \d+/);
    const ramp = (await ok('GET', `/v1/events?namespace=${ns}&env=${env}&type=FlagRolloutChanged`)).events as Json[];
    expect(ramp.map((e) => e.data.rollout)).toEqual([25]);
    const rampPosition = ramp[0].position as number;
    await poll(() => text('current-rollout')).toBe('25%');
    // The raw flagd definition previews on the server: unchanged, nobody flips.
    const definition = page.getByRole('form', { name: `Definition of ${flag}` });
    await poll(() => definition.getByLabel('Definition', { exact: true }).inputValue()).toContain('"state": "ENABLED"');
    await definition.getByRole('button', { name: 'Preview who flips' }).click();
    await poll(() => text('definition-who-flips')).toMatch(/Who flips: 0 of \d+ tenant\(s\) change/);
    await shot('flags-ramped');

    // 4. The timeline updates live: a change made elsewhere (the API, by hand) appears by itself,
    // carried by the change stream (in stream mode the console does not poll).
    await section('History').click();
    await poll(() => page.locator(`.timeline li[data-position="${rampPosition}"]`).count()).toBe(1);
    const full = await ok('PUT', `${scope}/flags/${flag}`, { rollout: 100, enabled: true, reason: 'ramp to 100%' });
    await poll(() => page.locator(`.timeline li[data-position="${full.position}"]`).innerText()).toContain(
      'ai_recommendations: 25% → 100%',
    );
    expect(await page.locator('.timeline li').first().getAttribute('data-position')).toBe(String(full.position));
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export NDJSON' }).click();
    const ndjson = await download;
    expect(ndjson.suggestedFilename()).toBe(`strata-history-${ns}-${env}.ndjson`);
    await shot('timeline-live');

    // 5. Travel to just before the rollout and diff it with now.
    await page.getByRole('button', { name: `Travel to just before #${rampPosition}` }).click();
    await poll(() => page.getByLabel('Moment A: log position').inputValue()).toBe(String(rampPosition - 1));
    await page.getByRole('button', { name: 'Show both and diff' }).click();
    await poll(() => text('diff')).toContain(`flag ${flag}: unset → 100%`);
    const flagRow = page.locator(`tr[data-flag="${flag}"]`);
    expect(await flagRow.innerText()).toContain('off (default)');
    expect(await flagRow.innerText()).toContain(bucket(tenants.a, flag) < 100 ? 'on (rollout)' : 'off');
    expect(await page.locator(`tr[data-key="${rateKey}"]`).innerText()).toContain('1000');
    await shot('time-travel-diff');
    // A moment by time (the browser's local time, as the input shows it): a minute from now is the head.
    const soon = new Date(Date.now() + 60_000);
    const local = new Date(soon.getTime() - soon.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await page.getByRole('group', { name: 'Moment B' }).getByLabel('By time').check();
    await page.getByLabel('Moment B: time (local)').fill(local);
    await page.getByRole('button', { name: 'Show both and diff' }).click();
    await poll(() => page.getByRole('table', { name: 'Config at the chosen moments' }).innerText()).toContain(
      `B (position ${full.position})`,
    );

    // 6. Revert the flag to the 25% state: preview the compensating events, then confirm with a reason.
    await section('Revert').click();
    await page.getByLabel('Restore the state at log position').fill(String(rampPosition));
    await page.getByLabel(/Only these keys/).fill(flag);
    await page.getByLabel('Reason', { exact: true }).fill('AI recommendations overloaded the model provider');
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    await poll(() => text('revert-plan')).toContain(`set flag ${flag} to 25%`);
    expect(await text('revert-plan')).toContain('1 compensating event(s)');
    await shot('revert-preview');
    await page.getByRole('button', { name: /Confirm revert/ }).click();
    const revertPosition = Number(await page.getByTestId('revert-position').innerText());
    expect(revertPosition).toBeGreaterThan(full.position as number);
    await section('History').click();
    const revertItem = page.locator(`.timeline li[data-position="${revertPosition}"]`);
    await poll(() => revertItem.innerText()).toContain(`↺ revert to #${rampPosition}`);
    expect(await revertItem.innerText()).toContain('100% → 25%');
    // A revert is an ordinary event: it can itself be reverted.
    expect(await revertItem.getByRole('button', { name: `Revert to just before #${revertPosition}` }).count()).toBe(1);
    await shot('timeline-after-revert');
    const filters = page.getByRole('form', { name: 'History filters' });
    await filters.getByLabel('Event type').selectOption('FlagRolloutChanged');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await poll(() => text('event-count')).toBe('3');
    await filters.getByRole('button', { name: 'Clear' }).click();

    // 7. Projector lag per partition (the stack's topic has 3), verify the chain, and rebuild the
    //    views with live progress.
    await section('System').click();
    const lagTable = page.getByRole('table', { name: 'Projector lag per partition' });
    await poll(() => lagTable.getByRole('row').count()).toBe(4);
    const headers = await lagTable.getByRole('columnheader').allInnerTexts();
    expect(headers).toEqual(['Partition', 'Committed offset', 'End offset', 'Lag', 'Reported by', 'Updated', 'State']);
    for (const partition of [0, 1, 2])
      await poll(() =>
        lagTable
          .getByRole('row')
          .nth(partition + 1)
          .innerText(),
      ).toMatch(new RegExp(`^${partition}\\t(\\d+)\\t\\1\\t0\\t.+:\\d+\\t\\d+s ago\\t✓ caught up$`));
    await poll(() => text('partition-lag-summary')).toMatch(/^0 event\(s\) behind in total across 3 partition\(s\)$/);
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await poll(() => text('chain-result')).toMatch(/✓ Intact: \d+ events checked/);
    await page.getByLabel('Reason').fill('console e2e');
    await page.getByRole('button', { name: 'Rebuild projections' }).click();
    await poll(() => text('last-rebuild')).toContain('✓ finished');
    await shot('system-verified');

    // 8. Secrets as the admin: names and versions, and no plaintext in the page or its answers.
    await scopeForm().getByLabel('Tenant', { exact: true }).fill(tenants.publisher);
    await section('Secrets').click();
    await poll(() => page.getByRole('table', { name: 'Secrets' }).innerText()).toContain('erp_api_key');
    expect(await page.content()).not.toContain(marker);
    await poll(() => page.getByRole('table', { name: 'Secrets' }).innerText()).toMatch(
      /⚠ overdue since .* \(every PT2S\)/,
    );
    // Rotate: the new value goes to the API and nowhere into the page.
    const rotated = `${marker}-v2`;
    await page.getByRole('button', { name: 'Rotate erp_api_key' }).click();
    const rotate = page.getByRole('form', { name: 'Rotate erp_api_key' });
    await rotate.getByLabel('New value').fill(rotated);
    await rotate.getByLabel('Reason').fill('yearly rotation');
    expect(await page.content()).not.toContain(rotated);
    await rotate.getByRole('button', { name: 'Save new version' }).click();
    await poll(() => page.getByRole('status').last().innerText()).toMatch(/Rotated: version 2 at position \d+/);
    await poll(() => page.getByRole('table', { name: 'Secrets' }).innerText()).toContain('v1, v2');
    expect(await page.content()).not.toContain(marker);
    await shot('secrets-rotated');

    // 9. A reader: no edit controls, no audit sections; its write by hand is refused.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(reader);
    expect(await text('who')).toContain('role reader');
    await scopeForm().getByLabel('Tenant', { exact: true }).fill(tenants.a);
    await poll(() => text(`value-${rateKey}`)).toBe('1000');
    for (const hidden of ['History', 'Revert', 'System', 'Time travel & diff'])
      expect(await section(hidden).count(), hidden).toBe(0);
    expect(await page.getByRole('button', { name: /^Edit / }).count()).toBe(0);
    await section('Flags').click();
    expect(await page.getByRole('button', { name: /Save rollout/ }).count()).toBe(0);
    await section('Secrets').click();
    expect(await page.getByRole('button', { name: /Reveal|Rotate/ }).count()).toBe(0);
    await shot('reader-view');
    const refused = await stack.call(
      'PUT',
      `${scope}/tenants/${tenants.a}/config/${rateKey}`,
      { value: 5, reason: 'by hand' },
      reader,
    );
    expect(refused.status).toBe(403);

    // 10. The secret reader: the plaintext appears only after Reveal.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(secretReader);
    await poll(() => page.getByRole('table', { name: 'Secrets' }).innerText()).toContain('erp_api_key');
    expect(await page.content()).not.toContain(marker);
    await waitFor(() => answers.length > 0, 'responses recorded', 5_000);
    expect(answers.filter((a) => a.body.includes(marker)).map((a) => a.url)).toEqual([]);
    await page.getByRole('button', { name: 'Reveal erp_api_key' }).click();
    await poll(() => page.getByTestId('revealed').innerText()).toBe(rotated);
    // Recorded as each body arrives: poll, the reveal's answer may land just after the page shows it.
    await poll(async () => answers.filter((a) => a.body.includes(marker)).map((a) => new URL(a.url).pathname)).toEqual([
      `${scope}/tenants/${tenants.publisher}/secrets/erp_api_key`,
    ]);
    await shot('secret-revealed');
    await page.getByRole('button', { name: 'Hide' }).click();
    expect(await page.content()).not.toContain(marker);
    expect(await page.evaluate<string>('JSON.stringify(sessionStorage)')).not.toContain(marker);

    expect(consoleErrors).toEqual([]);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}, 300_000);
