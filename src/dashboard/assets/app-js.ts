/**
 * The pages' script: a plain ES module, no build step. Every value from a task goes into
 * the page as text (text nodes, textContent, attribute values), never as HTML. Live
 * updates come from one EventSource: a 'change' message makes the view read its JSON
 * again (the server sends a few per second at most); nothing polls.
 */
export const APP_JS = String.raw`
import uPlot from '/assets/uplot.esm.js';

const STATUSES = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled'];
const PRIORITIES = ['low', 'normal', 'high'];
const main = document.getElementById('main');
let info = null;

/** An element with attributes (set as values, never parsed) and children (strings become text nodes). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'data') for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces the view's content; children as h() takes them (arrays flattened, strings as text). */
function show(...children) {
  main.replaceChildren(...h('div', {}, children).childNodes);
}

function taskLink(id, text) {
  return h('a', { href: '/tasks/' + encodeURIComponent(id) }, text === undefined ? id.slice(0, 8) : text);
}

function time(ms) {
  return ms === null || ms === undefined ? '-' : new Date(ms).toLocaleString();
}

function duration(ms) {
  if (ms === null || ms === undefined || ms === 0) return '-';
  if (ms < 1) return ms.toFixed(2) + ' ms';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(2) + ' s';
  return Math.floor(ms / 60000) + 'm' + Math.floor((ms % 60000) / 1000) + 's';
}

function statusCell(status) {
  return h('span', { class: 'status status-' + status, data: { status } }, status);
}

function notice(text, isError) {
  const el = document.getElementById('notice');
  el.textContent = text;
  el.className = isError ? 'error' : '';
  el.hidden = false;
}

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.code + ': ' + body.error.message : res.statusText);
  return body;
}

async function act(path, body, done) {
  try {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-offthread-csrf': info.csrf },
      body: JSON.stringify(body || {}),
    });
    const answer = await res.json();
    if (!res.ok) throw new Error(answer.error ? answer.error.code + ': ' + answer.error.message : res.statusText);
    if (done) done(answer);
    refresh();
  } catch (error) {
    notice(error.message, true);
  }
}

/** Buttons for the actions a task's status allows (none on a read-only dashboard). */
function actionButtons(id, actions, withPriority) {
  const buttons = [];
  const path = '/api/tasks/' + encodeURIComponent(id) + '/';
  for (const action of actions) {
    if (action === 'cancel') buttons.push(h('button', { class: 'danger', data: { action }, onclick: () => act(path + 'cancel', {}, () => notice('Cancelled ' + id)) }, 'Cancel'));
    if (action === 'pause') buttons.push(h('button', { data: { action }, onclick: () => act(path + 'pause', {}, () => notice('Paused ' + id)) }, 'Pause'));
    if (action === 'resume') buttons.push(h('button', { data: { action }, onclick: () => act(path + 'resume', {}, () => notice('Resumed ' + id)) }, 'Resume'));
    if (action === 'retry') {
      buttons.push(h('button', { data: { action }, onclick: () => act(path + 'retry', {}, (answer) => location.assign('/tasks/' + encodeURIComponent(answer.id))) }, 'Retry as a new task'));
    }
    if (action === 'priority' && withPriority) {
      const select = h('select', { 'aria-label': 'priority', data: { priority: '' } }, PRIORITIES.map((p) => h('option', { value: p, selected: p === withPriority }, p)));
      buttons.push(select, h('button', { data: { action }, onclick: () => act(path + 'priority', { priority: select.value }, () => notice('Priority of ' + id + ' is ' + select.value)) }, 'Set priority'));
    }
  }
  return buttons;
}

// ---------------------------------------------------------------------------------------
// Views: each draws itself once, and update() redraws its data after a change.

const views = {
  overview() {
    const counts = h('div', { class: 'counts', id: 'counts' });
    const threads = h('p', { id: 'threads', class: 'muted' });
    const chartBox = h('div', { id: 'chart', class: 'panel' });
    const running = h('tbody');
    const metrics = h('tbody');
    show(
      h('h1', {}, 'Overview'),
      counts,
      threads,
      h('h2', {}, 'Tasks finished per minute, last hour'),
      chartBox,
      h('h2', {}, 'Running'),
      h('table', { id: 'running' }, h('thead', {}, h('tr', {}, ['Task', 'Type', 'Name', 'Progress', 'Message', ''].map((c) => h('th', {}, c)))), running),
      h('h2', {}, 'Wait and run times (this host, since it opened)'),
      h('table', { id: 'metrics' },
        h('thead', {}, h('tr', {}, ['Group', 'Completed', 'Failed', 'Cancelled', 'Wait p50', 'p95', 'p99', 'Run p50', 'p95', 'p99', 'Per min'].map((c, i) => h('th', { class: i > 0 ? 'num' : '' }, c)))),
        metrics),
    );
    let plot = null;
    return async () => {
      const data = await api('/api/overview');
      counts.replaceChildren(
        ...STATUSES.map((s) => h('a', { class: 'count', href: '/tasks?status=' + s }, h('span', { class: 'n', data: { count: s } }, data.stats[s]), h('span', { class: 'label' }, s))),
        h('a', { class: 'count', href: '/tasks' }, h('span', { class: 'n', data: { count: 'total' } }, data.stats.total), h('span', { class: 'label' }, 'total')),
      );
      threads.textContent = info.threads > 0 ? 'Threads in use: ' + data.threads.inUse + ' of ' + data.threads.total : 'This host runs no threads (' + (info.readOnly ? 'read-only view' : 'it submits only') + ').';
      const series = [data.throughput.minutes, data.throughput.finished];
      if (plot === null) {
        plot = new uPlot({
          width: Math.max(300, chartBox.clientWidth - 20), height: 200,
          scales: { x: { time: true } },
          series: [{}, { label: 'finished / min', stroke: '#3559c7', fill: 'rgba(53,89,199,0.15)', width: 2 }],
          axes: [{}, { label: 'tasks' }],
        }, series, chartBox);
      } else plot.setData(series);
      running.replaceChildren(...data.running.map((t) => h('tr', { data: { id: t.id } },
        h('td', { class: 'id' }, taskLink(t.id)),
        h('td', {}, t.type),
        h('td', { class: 'name' }, t.name || ''),
        h('td', {}, h('progress', { max: 100, value: t.progress }), ' ', h('span', { class: 'pct' }, Math.floor(t.progress) + '%')),
        h('td', { class: 'message' }, t.progressMessage || ''),
        h('td', {}, actionButtons(t.id, info.readOnly ? [] : ['pause', 'cancel'])),
      )));
      if (data.running.length === 0) running.append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'Nothing is running.')));
      const rows = [];
      if (data.metrics) {
        for (const [type, g] of Object.entries(data.metrics.types)) rows.push(['type ' + type, g]);
        for (const p of PRIORITIES) rows.push(['priority ' + p, data.metrics.priorities[p]]);
      }
      metrics.replaceChildren(...rows.map(([label, g]) => h('tr', {},
        h('td', {}, label),
        [g.completed, g.failed, g.cancelled].map((n) => h('td', { class: 'num' }, n)),
        [g.waitMs.p50, g.waitMs.p95, g.waitMs.p99, g.runMs.p50, g.runMs.p95, g.runMs.p99].map((ms) => h('td', { class: 'num' }, duration(ms))),
        h('td', { class: 'num' }, g.throughputPerMin),
      )));
      if (rows.length === 0) metrics.append(h('tr', {}, h('td', { colspan: 11, class: 'muted' }, info.readOnly ? 'Times are kept by the runtime that runs the tasks; a read-only view has none.' : 'No task has finished yet.')));
    };
  },

  tasks() {
    const params = new URLSearchParams(location.search);
    const chosen = (name) => params.get(name) || '';
    const form = h('form', { class: 'filters', method: 'get', action: '/tasks', id: 'filters' },
      h('label', {}, 'Status', h('select', { name: 'status' }, h('option', { value: '' }, 'any'), STATUSES.map((s) => h('option', { value: s, selected: chosen('status') === s }, s)))),
      h('label', {}, 'Priority', h('select', { name: 'priority' }, h('option', { value: '' }, 'any'), PRIORITIES.map((p) => h('option', { value: p, selected: chosen('priority') === p }, p)))),
      h('label', {}, 'Type', h('input', { name: 'type', value: chosen('type'), list: 'types', size: 14 })),
      h('datalist', { id: 'types' }, info.taskTypes.map((t) => h('option', { value: t }))),
      h('label', {}, 'Name or id', h('input', { name: 'q', value: chosen('q'), type: 'search', size: 20 })),
      h('button', { type: 'submit' }, 'Filter'),
    );
    // Empty fields would reach the URL as ?status=&type=: left out.
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const [key, value] of new FormData(form)) if (value) query.set(key, value);
      location.assign('/tasks' + (query.size > 0 ? '?' + query : ''));
    });
    const filter = {};
    for (const key of ['status', 'priority', 'type']) if (chosen(key)) filter[key] = chosen(key);
    const bulk = h('div', { class: 'actions', id: 'bulk' });
    if (!info.readOnly && !chosen('q')) {
      for (const [action, label] of [['pause', 'Pause all matching'], ['resume', 'Resume all matching'], ['cancel', 'Cancel all matching']]) {
        bulk.append(h('button', { class: action === 'cancel' ? 'danger' : '', data: { bulk: action }, onclick: () => {
          if (!confirm(label + ' (' + (Object.entries(filter).map((e) => e.join('=')).join(', ') || 'every task') + ')?')) return;
          act('/api/bulk/' + action, filter, (answer) => notice(action + ': ' + answer.count + ' task(s)'));
        } }, label));
      }
    }
    const body = h('tbody');
    const pager = h('div', { class: 'pager' });
    show(h('h1', {}, 'Tasks'), form, bulk,
      h('table', { id: 'tasks' }, h('thead', {}, h('tr', {}, ['Id', 'Name', 'Type', 'Priority', 'Status', 'Progress', 'Attempts', 'Created', 'Error'].map((c) => h('th', {}, c)))), body),
      pager);
    const query = new URLSearchParams(params);
    query.set('limit', '50');
    return async () => {
      const data = await api('/api/tasks?' + query);
      body.replaceChildren(...data.tasks.map((t) => h('tr', { data: { id: t.id } },
        h('td', { class: 'id' }, taskLink(t.id)),
        h('td', { class: 'name' }, t.name || ''),
        h('td', {}, t.type),
        h('td', {}, t.priority),
        h('td', {}, statusCell(t.status)),
        h('td', { class: 'num' }, Math.floor(t.progress) + '%'),
        h('td', { class: 'num' }, t.attempts),
        h('td', {}, time(t.createdAt)),
        h('td', {}, t.error ? t.error.code : ''),
      )));
      if (data.tasks.length === 0) body.append(h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No task matches.')));
      const first = new URLSearchParams(params);
      first.delete('cursor');
      const older = new URLSearchParams(params);
      if (data.next) older.set('cursor', data.next);
      // A text search reads a bounded slice of the list per page: it says how far it looked.
      const searched = data.search === null ? '' : h('span', { id: 'searched', class: 'muted', data: { scanned: data.search.scanned } },
        'Searched ' + data.search.scanned.toLocaleString() + ' tasks' + (params.has('cursor') ? ' older than the page before' : '') + (data.next ? '; older ones are not searched yet.' : ', down to the oldest.'));
      pager.replaceChildren(
        params.has('cursor') ? h('a', { href: '/tasks?' + first, id: 'newest' }, '← Newest') : '',
        searched,
        data.next ? h('a', { href: '/tasks?' + older, id: 'older' }, data.search === null ? 'Older →' : 'Search older →') : '',
      );
    };
  },

  async task(id) {
    let full = new URLSearchParams(location.search).get('full') === '1';
    return async () => {
      const data = await api('/api/tasks/' + encodeURIComponent(id) + (full ? '?full=1' : ''));
      const t = data.task;
      const fields = [
        ['Id', h('span', { class: 'mono' }, t.id)], ['Type', t.type], ['Name', t.name || '-'], ['Description', t.description || '-'],
        ['Status', statusCell(t.status)], ['Priority', t.priority],
        ['Progress', [h('progress', { max: 100, value: t.progress }), ' ' + Math.floor(t.progress) + '% ', h('span', { id: 'progress-message' }, t.progressMessage || '')]],
        ['Attempts', t.attempts + ' (retries allowed: ' + t.retries + ')'],
        ['Created', time(t.createdAt)], ['Started', time(t.startedAt)], ['Finished', time(t.completedAt)], ['Updated', time(t.updatedAt)],
        ['Run at', time(t.runAt)], ['Timeout', t.timeoutMs === null ? '-' : duration(t.timeoutMs)],
        ['Backoff', t.backoff ? JSON.stringify(t.backoff) : '-'], ['Key', t.key || '-'],
        ['On parent failure', t.onParentFailure],
      ];
      const json = (name, value) => [
        h('h2', {}, name),
        h('pre', { id: name.toLowerCase() }, value.text),
        value.truncated ? h('a', { href: '?full=1', id: name.toLowerCase() + '-all', onclick: (e) => { e.preventDefault(); full = true; refresh(); } }, 'show all (' + value.length + ' characters)') : '',
      ];
      const links = (list, empty) => list.length === 0 ? h('p', { class: 'muted' }, empty) :
        h('ul', {}, list.map((r) => h('li', {}, taskLink(r.id, r.id), ' ', r.name ? '(' + r.name + ') ' : '', r.status ? statusCell(r.status) : h('span', { class: 'muted' }, 'removed'))));
      show(
        h('h1', { id: 'task-title' }, t.name || t.type + ' ' + t.id.slice(0, 8)),
        h('div', { class: 'actions', id: 'task-actions' }, actionButtons(t.id, data.actions, t.priority)),
        h('dl', { class: 'fields' }, fields.map(([k, v]) => [h('dt', {}, k), h('dd', { data: { field: k.toLowerCase() } }, v)])),
        t.error ? [h('h2', {}, 'Error'), h('p', {}, h('strong', { id: 'error-code', class: 'mono' }, t.error.code)), h('pre', { id: 'error-message' }, t.error.message), t.error.stack ? h('pre', { id: 'error-stack', class: 'muted' }, t.error.stack) : ''] : '',
        json('Payload', data.payload),
        data.result ? json('Result', data.result) : '',
        data.checkpoint ? json('Checkpoint', data.checkpoint) : '',
        h('div', { class: 'grid2' },
          h('div', {}, h('h2', {}, 'Depends on'), links(data.parents, 'No parents.')),
          h('div', {}, h('h2', {}, 'Children'), links(data.children, 'None among the ' + data.childrenScanned + ' newest tasks.'))),
        h('h2', {}, 'Events seen while a page was open'),
        data.events.length === 0 ? h('p', { class: 'muted' }, 'None yet.') :
          h('ol', { class: 'timeline', id: 'timeline' }, data.events.map((e) => h('li', { data: { event: e.type } },
            h('time', {}, new Date(e.at).toLocaleTimeString()), e.type,
            e.type === 'progress' ? ' ' + Math.floor(e.progress) + '% ' + (e.message || '') : '',
            e.error ? ' ' + e.error.code + ': ' + e.error.message : '',
            e.attempt ? ' (attempt ' + e.attempt + ')' : ''))),
      );
    };
  },

  schedules() {
    const body = h('tbody');
    show(h('h1', {}, 'Schedules'),
      h('table', { id: 'schedules' }, h('thead', {}, h('tr', {}, ['Name', 'Cron', 'Time zone', 'Type', 'Next run', 'Last run', 'Last task', ''].map((c) => h('th', {}, c)))), body));
    const runNow = (name) => info.readOnly ? '' :
      h('button', { data: { action: 'run' }, onclick: () => act('/api/schedules/' + encodeURIComponent(name) + '/run', {}, (answer) => notice('Started ' + answer.id)) }, 'Run now');
    return async () => {
      const data = await api('/api/schedules');
      body.replaceChildren(...data.schedules.map((s) => h('tr', { data: { schedule: s.name } },
        h('td', {}, s.name), h('td', { class: 'mono' }, s.cron), h('td', {}, s.timezone || 'host local'), h('td', {}, s.type),
        h('td', {}, time(s.nextRunAt)), h('td', {}, time(s.lastRunAt)), h('td', { class: 'id' }, s.lastTaskId ? taskLink(s.lastTaskId) : '-'),
        h('td', {}, runNow(s.name)))));
      if (data.schedules.length === 0) body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No schedules.')));
    };
  },
};

// ---------------------------------------------------------------------------------------
// One update at a time; a change during one asks for another after it.

let update = async () => undefined;
let updating = false;
let again = false;
let shownTask = null;

async function refresh() {
  if (updating) {
    again = true;
    return;
  }
  updating = true;
  try {
    await update();
    document.body.dataset.updated = String(Date.now());
  } catch (error) {
    notice(error.message, true);
  } finally {
    updating = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

async function start() {
  // The stream is opened first: by the time the view is first read, the server most likely
  // follows the changes already (it follows them only while a page listens).
  const live = document.getElementById('live');
  let stream = null;
  let ready = false;
  const listen = () => {
    stream = new EventSource('/api/stream');
    // Changes between a read and the stream's (re)connection were not sent: read again.
    stream.onopen = () => {
      live.classList.add('on');
      if (ready) refresh();
    };
    stream.onerror = () => live.classList.remove('on');
    stream.addEventListener('change', (message) => {
      if (!ready) return;
      const change = JSON.parse(message.data);
      if (shownTask !== null && change.tasks !== null && !change.tasks.includes(shownTask) && change.tasks.length > 0) return;
      refresh();
    });
  };
  // A page nobody sees (a background tab, a minimized window) stops listening, so the server
  // sends it nothing and follows nothing for it; shown again, it listens and reads anew.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && stream !== null) {
      stream.close();
      stream = null;
      live.classList.remove('on');
    } else if (!document.hidden && stream === null) listen();
  });
  if (!document.hidden) listen();

  info = await api('/api/info');
  document.getElementById('database').textContent = info.database;
  const mode = document.getElementById('mode');
  if (info.readOnly) {
    mode.textContent = 'read-only';
    mode.className = 'readonly';
    document.body.dataset.readonly = '1';
  }
  const path = location.pathname;
  let page = 'overview';
  if (path === '/tasks') page = 'tasks';
  else if (path.startsWith('/tasks/')) page = 'task';
  else if (path === '/schedules') page = 'schedules';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('current', a.dataset.nav === page || (page === 'task' && a.dataset.nav === 'tasks'));
  if (page === 'task') {
    shownTask = decodeURIComponent(path.slice('/tasks/'.length));
    update = await views.task(shownTask);
  } else update = views[page]();
  document.body.dataset.page = page;
  ready = true;
  await refresh();
}

start().catch((error) => notice(error.message, true));
`;
