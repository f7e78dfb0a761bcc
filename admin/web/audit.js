// pubsub admin page: the operator audit (GET /api/audit), newest first, on the Service Status
// tab: who changed what, when, and how many rows. Loaded after app.js (uses $, el, api, fmtTime).
'use strict';

async function loadAudit() {
    if ($('panel-status').hidden) return;
    const r = await api('GET', '/api/audit?limit=50')
                  .catch((e) => ({status: 0, body: {error: e.message}}));
    if (r.status !== 200) {
        $('audit-empty').hidden = false;
        $('audit-empty').textContent =
            'audit unavailable: ' + ((r.body && r.body.error) || 'HTTP ' + r.status);
        return;
    }
    const rows = r.body.audit;
    $('audit-empty').hidden = rows.length > 0;
    $('audit-empty').textContent = 'No operator changes yet.';
    $('audit-rows')
        .replaceChildren(...rows.map(
            (a) =>
                el('tr', {'data-audit-id': a.audit_id}, el('td', {}, fmtTime(a.at)),
                   el('td', {}, a.actor), el('td', {}, el('code', {}, a.action)),
                   el('td', {class: 'clip', title: a.target}, a.target),
                   el('td', {class: 'num'}, a.rows))));
}

setInterval(loadAudit, 5000);
document.querySelector('#tab-status').addEventListener('click', loadAudit);
loadAudit();
