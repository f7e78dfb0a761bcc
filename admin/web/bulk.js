// pubsub admin page: bulk actions on events (POST /api/events/retry|cancel, SPEC 7.4).
// Row checkboxes on the Event Queue and Event Log tables, "retry/cancel selected", and on the
// Event Log "retry all matching (N)" / "cancel all matching (N)" for its current search, with a
// confirmation that shows N from a dry run. Loaded after app.js and uses its helpers ($, el,
// api, change, showMessage, loadLog, tabs, state). The tables are rendered by app.js; this file
// adds its column to each row as the rows appear (a MutationObserver), so app.js knows nothing
// of it.
'use strict';

const bulk = {
    selected: new Set(),
    countSeq: 0
};

// The tables that get a checkbox column, and where it goes: the log's first cell is its
// expander, which app.js rewrites, so the checkbox follows it there.
const bulkTables = [
    {body: 'queue-rows', at: 0},
    {body: 'failed-rows', at: 0},
    {body: 'log-rows', at: 1},
];

function bulkCheckbox(id) {
    const box = el('input', {type: 'checkbox', class: 'pick', 'aria-label': 'select event ' + id});
    box.checked = bulk.selected.has(id);
    box.addEventListener('click', (ev) => ev.stopPropagation());  // not the row's expander
    box.addEventListener('change', () => {
        if (box.checked)
            bulk.selected.add(id);
        else
            bulk.selected.delete(id);
        bulkShowSelection();
    });
    return el('td', {class: 'pick'}, box);
}

function bulkDecorate(table) {
    const body = $(table.body);
    for (const row of body.children) {
        if (row.classList.contains('detail')) {
            const cell = row.firstElementChild;
            if (cell && !cell.dataset.widened) {
                cell.colSpan += 1;
                cell.dataset.widened = '1';
            }
            continue;
        }
        if (!row.dataset.id || row.querySelector('td.pick')) continue;
        const cell = bulkCheckbox(Number(row.dataset.id));
        row.insertBefore(cell, row.children[table.at] || null);
    }
}

// Ids no longer shown in any table leave the selection.
function bulkPrune() {
    const shown = new Set();
    for (const t of bulkTables) {
        for (const row of $(t.body).querySelectorAll('tr[data-id]'))
            shown.add(Number(row.dataset.id));
    }
    for (const id of [...bulk.selected])
        if (!shown.has(id)) bulk.selected.delete(id);
    bulkShowSelection();
}

function bulkShowSelection() {
    const n = bulk.selected.size;
    for (const id of ['bulk-selected', 'queue-selected']) {
        $(id).textContent = n ? n + ' selected' : '';
    }
    for (const id
             of ['bulk-retry-selected', 'bulk-cancel-selected', 'queue-cancel-selected',
                 'failed-retry-selected']) {
        $(id).disabled = n === 0;
    }
}

// The Event Log's current search as the bulk API's filter.
function bulkFilter() {
    const f = {status: $('log-status').value};
    const type = $('log-type').value.trim();
    const source = $('log-source').value.trim();
    if (type) f.type = type;
    if (source) f.source = source;
    if ($('log-since').value) f.since = new Date($('log-since').value).toISOString();
    if ($('log-until').value) f.until = new Date($('log-until').value).toISOString();
    return f;
}

function describe(f) {
    return Object.entries(f).map(([k, v]) => k + ' ' + v).join(', ');
}

// How many events the action would change: {events} or {error}.
async function bulkDryRun(action, body) {
    try {
        const r = await api('POST', '/api/events/' + action, {...body, dry_run: true});
        if (r.status === 200) return {events: r.body.events, more: r.body.more === true};
        return {error: (r.body && r.body.error) || 'HTTP ' + r.status};
    } catch (e) {
        return {error: e.message};
    }
}

// Refreshes the "all matching (N)" buttons from dry runs of the log's search.
async function bulkCount() {
    const seq = ++bulk.countSeq;
    const f = bulkFilter();
    const [retry, cancel] = await Promise.all([bulkDryRun('retry', f), bulkDryRun('cancel', f)]);
    if (seq !== bulk.countSeq) return;  // a newer search asked
    for (const [id, verb, n] of [
             ['bulk-retry-all', 'Retry', retry], ['bulk-cancel-all', 'Cancel', cancel]]) {
        const b = $(id);
        const count = n.events === undefined ? 0 : n.events;
        // A dry run stops counting at its limit: "(10000+)".
        b.textContent = verb + ' all matching (' + count + (n.more ? '+' : '') + ')';
        b.disabled = count === 0;
        b.title = n.error || '';
    }
}

function bulkReload() {
    if (state.tab === 'log') {
        loadLog(false);
    } else {
        tabs[state.tab].load();
    }
}

async function bulkRun(action, body, what) {
    const r = await change('POST', '/api/events/' + action, body);
    if (!r || r.status !== 200) return;
    const verb = action === 'retry' ? 'retried' : 'cancelled';
    showMessage(
        r.body.events + ' event' + (r.body.events === 1 ? '' : 's') + ' ' + verb +
        (what ? ' (' + what + ')' : ''));
    bulk.selected.clear();
    bulkReload();
}

// "all matching": a fresh dry run gives the N the operator confirms.
async function bulkAllMatching(action) {
    const f = bulkFilter();
    const n = await bulkDryRun(action, f);
    if (n.error) return showMessage(n.error, true);
    if (n.events === 0) return showMessage('no event matches: nothing to ' + action);
    const verb = action === 'retry' ? 'Retry' : 'Cancel';
    const many = (n.more ? 'more than ' : '') + n.events;
    if (!confirm(verb + ' all ' + many + ' events matching ' + describe(f) + '?')) return;
    await bulkRun(action, f, 'all matching ' + describe(f));
}

async function bulkSelected(action) {
    const ids = [...bulk.selected];
    if (!ids.length) return;
    const n = await bulkDryRun(action, {ids});
    if (n.error) return showMessage(n.error, true);
    const verb = action === 'retry' ? 'Retry' : 'Cancel';
    if (!confirm(verb + ' ' + n.events + ' of the ' + ids.length + ' selected events?')) return;
    await bulkRun(action, {ids}, 'selected');
}

function bulkStart() {
    for (const t of bulkTables) {
        const head = $(t.body).closest('table').querySelector('thead tr');
        const all = el('input', {type: 'checkbox', 'aria-label': 'select all rows'});
        all.addEventListener('change', () => {
            for (const box of $(t.body).querySelectorAll('td.pick input')) {
                box.checked = all.checked;
                box.dispatchEvent(new Event('change'));
            }
        });
        head.insertBefore(el('th', {class: 'pick'}, all), head.children[t.at] || null);
        new MutationObserver((changes) => {
            bulkDecorate(t);
            // An expanded detail row is no new search: the counts and the header box stay.
            const rows = changes.some(
                (c) => [...c.addedNodes, ...c.removedNodes].some(
                    (n) => n.classList && !n.classList.contains('detail')));
            if (!rows) return;
            bulkPrune();
            if (t.body === 'log-rows') bulkCount();
            all.checked = false;
        }).observe($(t.body), {childList: true});
    }
    $('bulk-retry-selected').addEventListener('click', () => bulkSelected('retry'));
    $('bulk-cancel-selected').addEventListener('click', () => bulkSelected('cancel'));
    $('failed-retry-selected').addEventListener('click', () => bulkSelected('retry'));
    $('queue-cancel-selected').addEventListener('click', () => bulkSelected('cancel'));
    $('bulk-retry-all').addEventListener('click', () => bulkAllMatching('retry'));
    $('bulk-cancel-all').addEventListener('click', () => bulkAllMatching('cancel'));
    for (const t of bulkTables) bulkDecorate(t);
    bulkShowSelection();
}

bulkStart();
