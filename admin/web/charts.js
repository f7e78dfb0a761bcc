// pubsub admin page: the last hour as charts on the Service Status tab (GET /api/history:
// per-second samples kept by the daemon). Inline SVG drawn here, no library: each series is one
// path over a fixed one-hour time axis, "now" at the right edge; one x pixel takes the largest
// sample that falls in it, so short spikes stay visible. Loaded after app.js (uses $, el, api).
'use strict';

const chartSpecs = [
    {
        id: 'chart-rate',
        title: 'Events per second',
        series: [
            {key: 'in_per_s', label: 'in', cls: 'in'}, {key: 'out_per_s', label: 'out', cls: 'out'}
        ]
    },
    {
        id: 'chart-queue',
        title: 'Queue depth',
        series: [{key: 'queue_depth', label: 'queued', cls: 'queue'}]
    },
    {
        id: 'chart-failed',
        title: 'Failures per second',
        series: [{key: 'failed_per_s', label: 'failed', cls: 'failed'}]
    },
];
const chartW = 480, chartH = 120, chartPad = {
    left: 44,
    right: 8,
    top: 10,
    bottom: 18
};
const chartSpan = 3600 * 1000;  // ms on the x axis

// The SVG namespace, read from an <svg> the HTML parser made (no URL written out here).
const svgNs = (() => {
    const t = document.createElement('template');
    t.innerHTML = '<svg></svg>';
    return t.content.firstChild.namespaceURI;
})();

function svg(tag, attrs, ...children) {
    const e = document.createElementNS(svgNs, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
}

// A round upper bound for the y axis: 1, 2 or 5 times a power of ten.
function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10])
        if (v <= m * p) return m * p;
    return 10 * p;
}

function fmtValue(v) {
    if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + 'k';
    return String(Math.round(v * 100) / 100);
}

// One series as a path: per x pixel the largest value, points joined left to right.
function seriesPath(at, values, now, yMax) {
    const plotW = chartW - chartPad.left - chartPad.right;
    const plotH = chartH - chartPad.top - chartPad.bottom;
    const cols = new Map();
    for (let i = 0; i < at.length; i++) {
        const age = now - at[i];
        if (age < 0 || age > chartSpan) continue;
        const x = Math.round(chartPad.left + plotW * (1 - age / chartSpan));
        if (!cols.has(x) || cols.get(x) < values[i]) cols.set(x, values[i]);
    }
    const xs = [...cols.keys()].sort((a, b) => a - b);
    return xs
        .map(
            (x, i) => (i ? 'L' : 'M') + x + ' ' +
                (chartPad.top + plotH * (1 - cols.get(x) / yMax)).toFixed(1))
        .join(' ');
}

function drawChart(spec, h) {
    const now = h.at_ms.length ? h.at_ms[h.at_ms.length - 1] : Date.now();
    let top = 0;
    for (const s of spec.series)
        for (const v of h[s.key]) top = Math.max(top, v);
    const yMax = niceMax(top);
    const x0 = chartPad.left, x1 = chartW - chartPad.right;
    const y0 = chartPad.top, y1 = chartH - chartPad.bottom;
    const root = svg('svg', {
        viewBox: '0 0 ' + chartW + ' ' + chartH,
        class: 'chart',
        role: 'img',
        'aria-label': spec.title
    });
    root.append(
        svg('line', {x1: x0, y1: y1, x2: x1, y2: y1, class: 'axis'}),
        svg('line', {x1: x0, y1: y0, x2: x1, y2: y0, class: 'grid-line'}),
        svg('text', {x: x0 - 4, y: y0 + 4, 'text-anchor': 'end', class: 'tick'}, fmtValue(yMax)),
        svg('text', {x: x0 - 4, y: y1, 'text-anchor': 'end', class: 'tick'}, '0'),
        svg('text', {x: x0, y: chartH - 4, class: 'tick'}, '-60 min'),
        svg('text', {x: (x0 + x1) / 2, y: chartH - 4, 'text-anchor': 'middle', class: 'tick'},
            '-30 min'),
        svg('text', {x: x1, y: chartH - 4, 'text-anchor': 'end', class: 'tick'}, 'now'));
    for (const s of spec.series) {
        const d = seriesPath(h.at_ms, h[s.key], now, yMax);
        if (d) root.append(svg('path', {d, class: 'series ' + s.cls, 'data-series': s.key}));
    }
    const latest = spec.series
                       .map((s) => {
                           const v = h[s.key];
                           return s.label + ' ' + (v.length ? fmtValue(v[v.length - 1]) : '-');
                       })
                       .join(', ');
    return el(
        'figure', {class: 'card chart-card', id: spec.id},
        el('figcaption', {}, el('b', {}, spec.title), ' ', el('span', {class: 'muted'}, latest)),
        root);
}

async function loadCharts() {
    if ($('panel-status').hidden) return;
    try {
        const r = await api('GET', '/api/history?seconds=3600');
        if (r.status !== 200) throw new Error((r.body && r.body.error) || 'HTTP ' + r.status);
        $('charts').replaceChildren(...chartSpecs.map((s) => drawChart(s, r.body)));
    } catch (e) {
        $('charts').replaceChildren(el('p', {class: 'muted'}, 'history unavailable: ' + e.message));
    }
}

setInterval(loadCharts, 2000);
document.querySelector('#tab-status').addEventListener('click', loadCharts);
loadCharts();
