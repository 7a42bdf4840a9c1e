// ensmock live view: keeps the server-rendered page current by polling the
// control plane's JSON (and the view's own /_ensmock/ui/grid), and drives the
// clock and the fault rules. Every value from the server goes into the page as
// text (textContent, text nodes, attribute values): never as HTML.
(() => {
  'use strict';
  const body = document.body;
  document.documentElement.classList.add('js');
  const token = new URLSearchParams(location.search).get('token');
  const refresh = Math.max(250, parseInt(body.dataset.refresh, 10) || 1000);
  const $ = (id) => document.getElementById(id);

  // el builds an element; strings among kids become text nodes.
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v; else e.setAttribute(k, String(v));
    }
    for (const k of kids) {
      if (k === undefined || k === null || k === false) continue;
      e.append(typeof k === 'string' || typeof k === 'number' ? document.createTextNode(String(k)) : k);
    }
    return e;
  }

  async function call(method, path, payload) {
    const headers = {};
    if (token) headers['Authorization'] = 'Bearer ' + token;
    if (method !== 'GET') headers['Content-Type'] = 'application/json';
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 10000);
    try {
      const res = await fetch(path, {
        method, headers, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal,
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
      let data = null;
      try { data = await res.json(); } catch (_) { /* not JSON */ }
      if (!res.ok) throw new Error((data && data.error) || (res.status + ' ' + res.statusText));
      return data;
    } finally {
      clearTimeout(timer);
    }
  }

  // Views are redrawn only when their data changed, so open <details> and
  // focus survive a refresh that brings nothing new.
  const last = {};
  function changed(key, data) {
    const s = JSON.stringify(data);
    if (last[key] === s) return false;
    last[key] = s;
    return true;
  }

  function link(params) {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(params)) {
      if (v === '' || v === null || v === undefined) q.delete(k); else q.set(k, String(v));
    }
    const s = q.toString();
    return location.pathname + (s ? '?' + s : '');
  }

  // ---- clock ---------------------------------------------------------------
  async function refreshClock() {
    const c = await call('GET', '/_ensmock/clock');
    $('clock-mode').textContent = c.mode;
    $('clock-now').textContent = c.now;
    $('clock-speed').textContent = String(c.speed);
    return c;
  }

  // ---- grid ----------------------------------------------------------------
  async function refreshGrid() {
    const q = new URLSearchParams();
    if (body.dataset.account || body.dataset.app) {
      q.set('account', body.dataset.account);
      q.set('app', body.dataset.app);
    }
    q.set('page', body.dataset.page || '1');
    q.set('size', body.dataset.size || '100');
    const g = await call('GET', '/_ensmock/ui/grid?' + q.toString());
    if (!changed('grid', g)) return;
    if (g.selected) {
      body.dataset.account = g.account;
      body.dataset.app = g.appId;
    }
    drawApps(g);
    $('grid-error').textContent = g.error || '';
    $('grid-caption').textContent = (g.selected ? g.account + ' / ' + g.appId + ': ' : '') +
      (g.total ? 'files ' + g.first + '–' + g.last + ' of ' + g.total : 'no data file');
    drawPager(g);
    const table = $('grid');
    const head = el('tr', {},
      el('th', { scope: 'col' }, 'data file'), el('th', { scope: 'col' }, 'version'),
      el('th', { scope: 'col', title: 'the ResultCode the latest PushApplicationData answered (from the request journal)' }, 'last ResultCode'),
      ...g.regions.map((r) => el('th', { scope: 'col', class: 'region' }, r)));
    table.tHead.replaceChildren(head);
    const rows = g.files.map((f) => el('tr', {},
      el('th', { scope: 'row', class: 'name' }, f.name),
      el('td', { class: 'version' }, f.version),
      el('td', { class: 'code' }, f.resultCode),
      ...f.cells.map((c) => el('td', {
        class: 'cell ' + c.class, tabindex: '0', title: c.title,
        'data-region': c.region, 'data-status': c.status,
      }, el('span', { class: 'label' }, c.label)))));
    table.tBodies[0].replaceChildren(...rows);
    cells = g.files;
  }
  let cells = [];

  function drawApps(g) {
    const items = g.apps.map((a) => {
      const sel = a.account === g.account && a.appId === g.appId;
      return el('li', sel ? { class: 'selected' } : {},
        el('a', { href: link({ account: a.account, app: a.appId, page: '' }) },
          el('span', { class: 'acct' }, a.account), ' / ', el('span', { class: 'app' }, a.appId)),
        ' ', el('span', { class: 'count' }, '(' + a.files + ' files)'));
    });
    if (!items.length) items.push(el('li', { class: 'empty' }, 'no application yet: push a data file'));
    $('apps').replaceChildren(...items);
  }

  function drawPager(g) {
    const kids = [];
    if (g.pages > 1) {
      const to = (n) => link({ account: g.account, app: g.appId, page: String(n) });
      if (g.page > 1) kids.push(el('a', { href: to(1) }, '« first'), ' ', el('a', { href: to(g.page - 1), rel: 'prev' }, '‹ prev'), ' ');
      kids.push(el('span', {}, 'page ' + g.page + ' of ' + g.pages));
      if (g.page < g.pages) kids.push(' ', el('a', { href: to(g.page + 1), rel: 'next' }, 'next ›'), ' ', el('a', { href: to(g.pages) }, 'last »'));
    }
    $('pager').replaceChildren(...kids);
  }

  // A click (or Enter) on a cell shows its reason and times.
  function showCell(td) {
    const tr = td.parentElement;
    const row = tr.sectionRowIndex;
    const col = td.cellIndex - 3;
    const f = cells[row];
    const c = f && f.cells[col];
    const panel = $('cell-detail');
    if (c) {
      $('detail-file').textContent = f.name + ' @ ' + f.version;
      $('detail-region').textContent = c.region;
      $('detail-status').textContent = c.label;
      $('detail-reason').textContent = c.reason || (c.status ? '' : 'no replica in this region');
      $('detail-start').textContent = c.start;
      $('detail-update').textContent = c.update;
    } else { // before the first refresh: what the server rendered
      $('detail-file').textContent = tr.cells[0].textContent + ' @ ' + tr.cells[1].textContent;
      $('detail-region').textContent = td.dataset.region || '';
      $('detail-status').textContent = td.textContent;
      $('detail-reason').textContent = td.title;
      $('detail-start').textContent = '';
      $('detail-update').textContent = '';
    }
    panel.hidden = false;
  }
  $('grid').addEventListener('click', (ev) => {
    const td = ev.target.closest('td.cell');
    if (td) showCell(td);
  });
  $('grid').addEventListener('keydown', (ev) => {
    const td = ev.target.closest('td.cell');
    if (td && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); showCell(td); }
  });

  // ---- faults --------------------------------------------------------------
  function extra(f) {
    const parts = [];
    if (f.probability !== undefined && f.probability !== null) parts.push('probability ' + f.probability);
    if (f.count) parts.push('count ' + f.count);
    return parts.join(', ');
  }
  async function refreshFaults() {
    const data = await call('GET', '/_ensmock/faults');
    const list = data.faults || [];
    if (!changed('faults', list)) return;
    const rows = list.map((f) => el('tr', { 'data-id': f.id },
      el('td', { class: 'id' }, f.id), el('td', {}, f.effect),
      el('td', {}, el('code', {}, JSON.stringify(f.match || {}))),
      el('td', {}, el('code', {}, JSON.stringify(f.params || {}))),
      el('td', {}, extra(f)), el('td', {}, String(f.applied || 0)),
      el('td', {}, el('button', { type: 'button', class: 'delete js-only', 'data-delete': f.id }, 'delete'))));
    if (!rows.length) rows.push(el('tr', { class: 'empty' }, el('td', { colspan: '7' }, 'no fault rule')));
    $('faults').tBodies[0].replaceChildren(...rows);
  }
  $('faults').addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-delete]');
    if (!b) return;
    b.disabled = true;
    try {
      await call('DELETE', '/_ensmock/faults/' + encodeURIComponent(b.dataset.delete));
      $('fault-error').textContent = '';
    } catch (e) {
      $('fault-error').textContent = 'delete ' + b.dataset.delete + ': ' + e.message;
    }
    refreshSoon();
  });
  $('fault-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const v = (n) => form.elements[n].value.trim();
    const rule = { effect: v('effect'), match: {} };
    for (const k of ['action', 'account', 'region', 'server', 'name', 'version']) if (v(k)) rule.match[k] = v(k);
    try {
      if (v('params')) rule.params = JSON.parse(v('params'));
      if (v('probability')) rule.probability = Number(v('probability'));
      if (v('count')) rule.count = parseInt(v('count'), 10);
    } catch (e) {
      $('fault-error').textContent = 'params: not JSON (' + e.message + ')';
      return;
    }
    try {
      const added = await call('POST', '/_ensmock/faults', rule);
      $('fault-error').textContent = '';
      for (const k of ['action', 'account', 'region', 'server', 'name', 'version', 'params', 'probability', 'count']) form.elements[k].value = '';
      $('live').textContent = 'added fault rule ' + added.id;
    } catch (e) {
      $('fault-error').textContent = e.message;
    }
    refreshSoon();
  });

  // ---- clock buttons -------------------------------------------------------
  document.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-advance], button[data-mode]');
    if (!b) return;
    try {
      if (b.dataset.advance) await call('POST', '/_ensmock/clock/advance', { by: b.dataset.advance });
      else await call('POST', '/_ensmock/clock', { mode: b.dataset.mode });
      $('clock-error').textContent = '';
    } catch (e) {
      $('clock-error').textContent = e.message;
    }
    refreshSoon();
  });

  // ---- journal -------------------------------------------------------------
  async function refreshJournal() {
    const q = new URLSearchParams({ limit: '50' });
    const action = $('filter-action').value.trim();
    const code = $('filter-code').value.trim();
    const account = $('filter-account').value.trim();
    if (action) q.set('action', action);
    if (code) q.set('code', code);
    if (account) q.set('account', account);
    const data = await call('GET', '/_ensmock/requests?' + q.toString());
    const list = data.requests || [];
    if (!changed('journal', list)) return;
    const open = new Set([...document.querySelectorAll('#journal details[open]')].map((d) => d.dataset.id));
    const items = list.map((r) => {
      const dl = el('dl', {}, el('dt', {}, 'request id'), el('dd', {}, r.requestId), el('dt', {}, 'method'), el('dd', {}, r.method));
      if (r.detail) dl.append(el('dt', {}, 'detail'), el('dd', { class: 'detail-text' }, r.detail));
      for (const w of r.warnings || []) dl.append(el('dt', {}, 'warning'), el('dd', { class: 'warning-text' }, w));
      if (r.response !== undefined) dl.append(el('dt', {}, 'response'), el('dd', {}, el('code', {}, typeof r.response === 'string' ? r.response : JSON.stringify(r.response))));
      for (const k of Object.keys(r.params || {}).sort()) dl.append(el('dt', { class: 'param' }, k), el('dd', {}, el('code', {}, r.params[k])));
      const rc = r.resultCodes && r.resultCodes.length ? el('span', { class: 'rc' }, 'ResultCode ' + r.resultCodes.join(',')) : null;
      const warn = r.warnings && r.warnings.length ? el('span', { class: 'warn' }, '⚠ ' + r.warnings.length + ' warning(s)') : null;
      const summary = el('summary', {}, el('time', {}, r.time), ' ', el('span', { class: 'action' }, r.action), ' ',
        el('span', { class: 'account' }, r.account), ' ', el('span', { class: 'status' }, String(r.httpStatus)), ' ',
        el('span', { class: 'code' }, r.errorCode || ''), rc ? ' ' : null, rc, warn ? ' ' : null, warn);
      const d = el('details', { 'data-id': r.requestId }, summary, dl);
      if (open.has(r.requestId)) d.open = true;
      return el('li', { class: r.httpStatus >= 400 ? 'bad' : 'ok' }, d);
    });
    if (!items.length) items.push(el('li', { class: 'empty' }, 'no request' + (action || code || account ? ' matches the filter' : '')));
    $('journal').replaceChildren(...items);
    $('journal-h').replaceChildren('Request journal ', el('span', { class: 'sub' }, '(newest first, last ' + list.length + ')'));
  }
  for (const id of ['filter-action', 'filter-code', 'filter-account']) $(id).addEventListener('input', () => refreshSoon());

  // ---- the loop --------------------------------------------------------------
  let timer = null;
  let running = false;
  let again = false;
  async function refreshAll() {
    if (running) { again = true; return; }
    running = true;
    try {
      const results = await Promise.allSettled([refreshClock(), refreshGrid(), refreshFaults(), refreshJournal()]);
      const bad = results.find((r) => r.status === 'rejected');
      const live = $('live');
      if (bad) {
        live.textContent = 'not updating: ' + bad.reason.message;
        live.className = 'live down';
      } else {
        live.textContent = 'live: updated ' + results[0].value.now;
        live.className = 'live up';
      }
    } finally {
      running = false;
    }
    if (again) { again = false; await refreshAll(); }
  }
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!document.hidden) await refreshAll();
      schedule(refresh);
    }, ms);
  }
  function refreshSoon() { schedule(0); }
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshSoon(); });
  refreshSoon();
})();
