// Steps of the browser test (browser_test.js) for bulk actions, the audit and the charts:
// selects rows with their checkboxes, retries all matching failed events of the Event Log's
// search after a confirmation that names N (from a dry run), sees every one of them run again,
// finds the change in the audit on the Service Status tab, and sees the charts draw (an SVG path
// with points). `h` holds browser_test.js's helpers and state.
'use strict';

async function bulkSteps(h) {
    const {page, base, daemon, emit, waitFor, apiEvent, shot, fail, log, WAIT_MS} = h;
    const dialogs = [];
    page.on('dialog', (d) => dialogs.push(d.message()));

    // Three more events for the failing subscriber (report, no retries).
    const ids = [];
    for (let i = 0; i < 3; i++) {
        const ack = await emit(daemon.socketPath, {event_type: 'doomed', event_data: {bulk: i}});
        if (!ack.ok) fail('emit refused: ' + JSON.stringify(ack));
        ids.push(ack.event_id);
    }
    for (const id of ids) {
        await waitFor(
            'event ' + id + ' to fail',
            async () => (await apiEvent(base, id) || {}).status === 'failed');
    }
    const listed =
        await (await fetch(base + '/api/events?status=failed&type=doomed&limit=1000')).json();
    const failed = listed.events.map((e) => ({id: e.event_id, retries: e.retry_count}));
    log(failed.length + ' failed doomed events');

    // The Event Log's search for them; every row gets a checkbox.
    await page.click('#tab-log');
    await page.fill('#log-type', 'doomed');
    await page.fill('#log-source', '');
    await page.selectOption('#log-status', 'failed');
    await page.click('#log-go');
    for (const id of ids) {
        await page.waitForSelector(
            `#log-rows tr[data-id="${id}"] td.pick input`, {timeout: WAIT_MS});
    }
    await page.check(`#log-rows tr[data-id="${ids[0]}"] td.pick input`);
    await page.check(`#log-rows tr[data-id="${ids[1]}"] td.pick input`);
    await page.waitForFunction(
        () => document.querySelector('#bulk-selected').textContent === '2 selected', null,
        {timeout: WAIT_MS});
    if (await page.isDisabled('#bulk-retry-selected'))
        fail('Retry selected is disabled with 2 rows selected');
    log('2 rows selected');

    // "Retry all matching (N)": N from a dry run, confirmed, then every one runs again.
    const label = 'Retry all matching (' + failed.length + ')';
    await page.waitForFunction(
        (t) => document.querySelector('#bulk-retry-all').textContent === t, label,
        {timeout: WAIT_MS});
    await shot(page, 'bulk');
    await page.click('#bulk-retry-all');
    await page.waitForFunction(
        () => /events? retried/.test(document.querySelector('#message').textContent), null,
        {timeout: WAIT_MS});
    const asked = dialogs.find((m) => m.startsWith('Retry all '));
    if (!asked || !asked.includes(' ' + failed.length + ' events')) {
        fail(
            'the confirmation did not name ' + failed.length +
            ' events: ' + JSON.stringify(dialogs));
    }
    for (const f of failed) {
        await waitFor('event ' + f.id + ' to run again', async () => {
            const e = await apiEvent(base, f.id);
            return e && e.status === 'failed' && e.retry_count === f.retries + 1;
        });
    }
    log('retried all ' + failed.length + ' matching events from the page');

    // Service Status: the audit lists the change, the charts draw.
    await page.click('#tab-status');
    await page.waitForFunction(
        (n) => [...document.querySelectorAll('#audit-rows tr')].some(
            (r) => r.textContent.includes('events.retry') &&
                r.lastElementChild.textContent === String(n)),
        failed.length, {timeout: WAIT_MS});
    await page.waitForFunction(() => {
        const p = document.querySelector('#charts path.series[data-series="in_per_s"]');
        return p && (p.getAttribute('d').match(/[ML]/g) || []).length >= 2;
    }, null, {timeout: WAIT_MS});
    const d = await page.getAttribute('#charts path.series[data-series="in_per_s"]', 'd');
    log('chart path: ' + d.slice(0, 80) + '...');
}

module.exports = {bulkSteps};
