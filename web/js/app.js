// app.js: the chat page's UI. Everything that can be pure lives in the other modules (sse, markdown,
// request, db, format, api); this file wires them to the DOM. Text from the server or the model is put in the
// page with textContent, or through markdown.js (sanitized): never as HTML.

import { Api, ApiError } from './api.js';
import { exportJSON, newConversation, newId, openStore, parseImport, titleFrom } from './db.js';
import { formatBytes, formatStats, formatUsd, modelDetails, modelLabel, pullProgress, routeBadge } from './format.js';
import { enhance, renderMarkdown } from './markdown.js';
import { SETTINGS, answerStats, applyChunk, buildChatRequest, parseSetting } from './request.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('aria-') || k.startsWith('data-') || k === 'role' || k === 'title' || k === 'type') e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c != null));
  return e;
};

const emptyView = $('empty'); // the welcome text, shown while a conversation has no messages

// A small line icon (SVG built with DOM calls: no markup strings).
const ICONS = {
  trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3',
  pencil: 'M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4',
};
function icon(name) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon-svg');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

const state = {
  db: null,
  convs: [],        // summaries, newest first
  conv: null,       // the open conversation
  models: [],       // [{name, size, quant, routed}]
  streaming: null,  // {conv, msg, controller}
};

// ---- dialogs: one generic ask (text / password / confirm) ------------------------------------------------

let askResolve = null;
function ask({ title, message = '', label = '', value = '', password = false, confirm = false, okText = 'OK', danger = false }) {
  const d = $('ask-dialog');
  if (askResolve) askResolve(null);
  $('ask-title').textContent = title;
  $('ask-message').textContent = message;
  $('ask-message').hidden = !message;
  $('ask-field').hidden = confirm;
  $('ask-label').textContent = label;
  const input = $('ask-input');
  input.type = password ? 'password' : 'text';
  input.value = value;
  input.required = !confirm;
  $('ask-ok').textContent = okText;
  $('ask-ok').classList.toggle('danger', danger);
  $('ask-ok').classList.toggle('primary', !danger);
  d.showModal();
  (confirm ? $('ask-ok') : input).focus();
  if (!confirm) input.select();
  return new Promise((resolve) => {
    askResolve = (v) => {
      askResolve = null;
      if (d.open) d.close();
      resolve(v);
    };
  });
}
$('ask-form').addEventListener('submit', (e) => {
  e.preventDefault();
  askResolve?.($('ask-field').hidden ? true : $('ask-input').value.trim() || null);
});
$('ask-cancel').addEventListener('click', () => askResolve?.(null));
// Esc closes the dialog: a cancel. A close event arriving after a new question re-opened it is stale: ignored.
$('ask-dialog').addEventListener('close', () => {
  if (!$('ask-dialog').open) askResolve?.(null);
});

// The key prompt: several calls may get a 401 at once; they share one question.
const pendingKey = {};
function askKey(kind, reason) {
  if (pendingKey[kind]) return pendingKey[kind];
  document.body.dataset.keyPrompts = String(Number(document.body.dataset.keyPrompts || 0) + 1);
  pendingKey[kind] = ask({
    title: kind === 'management' ? 'Management key needed' : 'This server needs a key',
    message: kind === 'management'
      ? 'Downloading and deleting models needs the management key the server was started with.'
      : `The hearth server was started with an API key. Enter it once; it is kept only until you close this tab. (${reason})`,
    label: kind === 'management' ? 'Management key' : 'API key',
    password: true,
    okText: 'Continue',
  }).finally(() => delete pendingKey[kind]);
  return pendingKey[kind];
}

const api = new Api({ askKey });

let toastTimer = 0;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 4000);
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch { // not a secure context (http from another device): the old way
    const ta = el('textarea', { value: text, class: 'offscreen', 'aria-hidden': 'true' });
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
  if (button) {
    const before = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => (button.textContent = before), 1200);
  }
}

// ---- sidebar ------------------------------------------------------------------------------------------------

function setSidebar(open) {
  document.body.classList.toggle('sidebar-open', open);
  $('toggle-sidebar').setAttribute('aria-expanded', String(open));
  $('scrim').hidden = !open;
}
$('toggle-sidebar').addEventListener('click', () => setSidebar(!document.body.classList.contains('sidebar-open')));
$('scrim').addEventListener('click', () => setSidebar(false));
const phone = () => window.matchMedia('(max-width: 760px)').matches;

function renderConvList() {
  const ul = $('conv-list');
  ul.replaceChildren();
  if (!state.convs.length) ul.append(el('li', { class: 'conv-empty', text: 'No conversations yet' }));
  for (const c of state.convs) {
    const current = state.conv && c.id === state.conv.id;
    const open = el('button', { type: 'button', class: 'conv-open', text: c.title || 'New chat', title: c.title || '' });
    if (current) open.setAttribute('aria-current', 'true');
    open.addEventListener('click', () => {
      openConversation(c.id);
      if (phone()) setSidebar(false);
    });
    const rename = el('button', { type: 'button', class: 'btn icon tiny', 'aria-label': `Rename “${c.title}”`, title: 'Rename' }, icon('pencil'));
    rename.addEventListener('click', () => renameConversation(c.id));
    const del = el('button', { type: 'button', class: 'btn icon tiny', 'aria-label': `Delete “${c.title}”`, title: 'Delete' }, icon('trash'));
    del.addEventListener('click', () => deleteConversation(c.id));
    ul.append(el('li', { class: current ? 'conv current' : 'conv', 'data-id': c.id }, open, el('span', { class: 'conv-actions' }, rename, del)));
  }
}

async function refreshConvs() {
  state.convs = await state.db.list();
  renderConvList();
}

async function save(conv) {
  conv.updated = Date.now();
  if (conv === state.conv) localStorage.setItem('hearth.lastConversation', conv.id); // reopened after a reload
  await state.db.put(structuredClone(conv));
  await refreshConvs();
}

async function openConversation(id) {
  const conv = state.streaming?.conv.id === id ? state.streaming.conv : await state.db.get(id);
  if (!conv) return;
  state.conv = conv;
  localStorage.setItem('hearth.lastConversation', id);
  renderConversation();
  renderConvList();
}

// A new conversation takes the model in use (or last chosen), if it is still there; else the first one.
function startNew() {
  const wanted = [state.conv?.model, localStorage.getItem('hearth.lastModel')].filter(Boolean);
  const model = wanted.find((w) => !state.models.length || state.models.some((m) => m.name === w))
    || state.models.find((m) => !m.routed)?.name || '';
  state.conv = newConversation(model);
  renderConversation();
  renderConvList();
  $('input').focus();
}

async function renameConversation(id) {
  const conv = state.conv?.id === id ? state.conv : await state.db.get(id);
  const name = await ask({ title: 'Rename conversation', label: 'Name', value: conv.title, okText: 'Rename' });
  if (!name) return;
  conv.title = name.slice(0, 200);
  await save(conv);
  if (state.conv?.id === id) $('conv-title').textContent = conv.title;
}

async function deleteConversation(id) {
  const conv = state.convs.find((c) => c.id === id);
  const ok = await ask({ title: 'Delete conversation?', message: `“${conv?.title}” will be removed from this browser.`, confirm: true, okText: 'Delete', danger: true });
  if (!ok) return;
  if (state.streaming?.conv.id === id) {
    state.streaming.conv.deleted = true; // the aborted answer must not save it back
    state.streaming.controller.abort();
  }
  await state.db.remove(id);
  await refreshConvs();
  if (state.conv?.id === id) startNew();
}

// ---- models -----------------------------------------------------------------------------------------------

function renderModelPicker() {
  const sel = $('model');
  sel.replaceChildren();
  const current = state.conv?.model;
  const names = new Set(state.models.map((m) => m.name));
  if (!state.models.length) sel.append(el('option', { value: '', text: 'No models yet: open Models to download one' }));
  for (const m of state.models) sel.append(el('option', { value: m.name, text: modelLabel(m) }));
  if (current && !names.has(current)) sel.append(el('option', { value: current, text: `${current} (not installed)` }));
  if (current) sel.value = current;
  else if (state.conv && state.models.length) {
    state.conv.model = sel.value;
  }
  renderRouteSwitch();
}

function currentModel() {
  return state.models.find((m) => m.name === state.conv?.model);
}

function renderRouteSwitch() {
  const routed = !!currentModel()?.routed;
  $('route-switch').hidden = !routed;
  for (const r of document.querySelectorAll('input[name=route]')) r.checked = r.value === (state.conv?.route || 'auto');
}

async function loadModels() {
  try {
    state.models = await api.models();
  } catch (e) {
    state.models = [];
    toast(`Could not list the models: ${e.message}`);
  }
  renderModelPicker();
  renderModelList();
  $('no-models').hidden = state.models.some((m) => !m.routed);
}

$('model').addEventListener('change', async (e) => {
  state.conv.model = e.target.value;
  localStorage.setItem('hearth.lastModel', e.target.value);
  renderRouteSwitch();
  if (state.conv.messages.length) await save(state.conv);
});
for (const r of document.querySelectorAll('input[name=route]')) {
  r.addEventListener('change', async () => {
    state.conv.route = r.value;
    if (state.conv.messages.length) await save(state.conv);
  });
}

async function refreshSpend() {
  let s = null;
  try {
    s = await api.routerStats();
  } catch { /* the panel is optional */ }
  const hasRouter = s && (state.models.some((m) => m.routed) || (s.requests?.cloud ?? 0) > 0);
  $('spend').hidden = !hasRouter;
  if (!hasRouter) return;
  const today = s.cloud_spend_today_usd;
  $('spend-label').textContent = today != null ? 'Spent today' : 'Spent since start';
  $('spend-today').textContent = formatUsd(today ?? s.cloud_spend_usd);
  $('spend-avoided').textContent = formatUsd(s.spend_avoided_usd);
  $('spend-counts').textContent = `${s.requests?.local ?? 0} local · ${s.requests?.cloud ?? 0} cloud`;
}

// ---- messages -----------------------------------------------------------------------------------------------

function renderConversation() {
  const conv = state.conv;
  $('conv-title').textContent = conv.title;
  document.title = conv.messages.length ? `${conv.title} · hearth` : 'hearth';
  const box = $('messages');
  box.replaceChildren();
  emptyView.hidden = conv.messages.length > 0;
  box.append(emptyView);
  conv.messages.forEach((m, i) => box.append(messageView(m, i)));
  renderModelPicker();
  updateComposer();
  box.scrollTop = box.scrollHeight;
}

// Builds one message's article; assistant content goes through markdown.js.
function messageView(m, index) {
  const conv = state.conv;
  const isLast = index === conv.messages.length - 1;
  const art = el('article', { class: `msg ${m.role}`, 'data-id': m.id, 'aria-label': m.role === 'user' ? 'You said' : 'Answer' });
  const head = el('div', { class: 'msg-head' }, el('span', { class: 'who', text: m.role === 'user' ? 'You' : m.model || conv.model || 'Assistant' }));
  if (m.role === 'assistant') {
    const badge = routeBadge(m.hearth);
    if (badge) {
      head.append(el('span', { class: `badge ${badge.route}`, title: badge.title, text: badge.route === 'cloud' ? `☁ ${badge.text}` : `⌂ ${badge.text}` }));
      if (badge.detail) head.append(el('span', { class: 'route-detail', text: badge.detail }));
    }
  }
  art.append(head);
  if (m.role === 'user') {
    art.append(el('div', { class: 'content plain', text: m.content }));
  } else {
    if (m.reasoning) {
      const details = el('details', { class: 'reasoning' }, el('summary', { text: m.content || m.finish ? 'Thought process' : 'Thinking…' }));
      details.append(el('div', { class: 'reasoning-body', text: m.reasoning }));
      art.append(details);
    }
    if (m.toolCalls?.length) {
      const box = el('div', { class: 'tool-calls' });
      for (const t of m.toolCalls) {
        let args = t.arguments;
        try {
          args = JSON.stringify(JSON.parse(t.arguments), null, 2);
        } catch { /* shown as it came */ }
        box.append(el('div', { class: 'tool-call' }, el('div', { class: 'tool-name', text: `Tool call: ${t.name}` }), el('pre', { text: args })));
      }
      art.append(box);
    }
    const content = el('div', { class: 'content markdown' });
    const r = renderMarkdown(m.content || '');
    content.append(r.fragment);
    if (r.hasCode || r.hasMath) enhance(content).catch((e) => toast(e.message));
    art.append(content);
    if (m.pending && !m.content && !m.reasoning) content.append(el('span', { class: 'typing', 'aria-label': 'Writing' }, el('i'), el('i'), el('i')));
  }
  if (m.error) art.append(el('div', { class: 'msg-error', role: 'alert', text: m.error }));
  if (m.stopped) art.append(el('div', { class: 'msg-note', text: 'Stopped' }));
  const foot = el('div', { class: 'msg-foot' });
  if (m.role === 'assistant' && m.stats) foot.append(el('span', { class: 'stats', text: formatStats(m.stats) }));
  foot.append(el('span', { class: 'spacer' }));
  if (!m.pending) {
    if (m.content) {
      const copy = el('button', { type: 'button', class: 'btn tiny ghost', text: 'Copy', 'aria-label': 'Copy this message' });
      copy.addEventListener('click', () => copyText(m.content, copy));
      foot.append(copy);
    }
    if (m.role === 'user') {
      const edit = el('button', { type: 'button', class: 'btn tiny ghost', text: 'Edit', 'aria-label': 'Edit this message and ask again' });
      edit.addEventListener('click', () => editMessage(art, index));
      foot.append(edit);
    }
    if (m.role === 'assistant' && isLast) {
      const regen = el('button', { type: 'button', class: 'btn tiny ghost', text: 'Regenerate', 'aria-label': 'Write this answer again' });
      regen.addEventListener('click', () => regenerate());
      foot.append(regen);
    }
  }
  art.append(foot);
  if (m.pending) art.setAttribute('aria-busy', 'true');
  return art;
}

function replaceMessageView(m) {
  const index = state.conv.messages.indexOf(m);
  const old = $('messages').querySelector(`article[data-id="${CSS.escape(m.id)}"]`);
  if (!old || index < 0) return;
  const box = $('messages');
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const view = messageView(m, index);
  // Keep what the reader did to the old view: an opened "thinking" fold stays open.
  const fold = old.querySelector('details.reasoning');
  if (fold?.open && view.querySelector('details.reasoning')) view.querySelector('details.reasoning').open = true;
  old.replaceWith(view);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

// Code-block copy buttons (rendered by markdown.js) through one listener.
$('messages').addEventListener('click', (e) => {
  const b = e.target.closest('button.copy-code');
  if (!b) return;
  const code = b.closest('.code-block')?.querySelector('pre');
  if (code) copyText(code.textContent, b);
});

function editMessage(article, index) {
  if (state.streaming) return;
  const m = state.conv.messages[index];
  const content = article.querySelector('.content');
  const ta = el('textarea', { class: 'edit-box', value: m.content, 'aria-label': 'Edit your message' });
  const saveBtn = el('button', { type: 'button', class: 'btn primary small', text: 'Save & ask again' });
  const cancel = el('button', { type: 'button', class: 'btn small', text: 'Cancel' });
  const box = el('div', { class: 'edit' }, ta, el('div', { class: 'actions' }, el('span', { class: 'spacer' }), cancel, saveBtn));
  content.replaceWith(box);
  article.querySelector('.msg-foot').hidden = true;
  ta.focus();
  const commit = async () => {
    const text = ta.value.trim();
    if (!text) return;
    // Everything after the edited message goes: the conversation continues from the new text.
    state.conv.messages = state.conv.messages.slice(0, index);
    await send(text);
  };
  saveBtn.addEventListener('click', commit);
  cancel.addEventListener('click', () => renderConversation());
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      commit();
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      renderConversation();
    }
  });
}

async function regenerate() {
  if (state.streaming) return;
  const msgs = state.conv.messages;
  if (msgs.length && msgs[msgs.length - 1].role === 'assistant') msgs.pop();
  renderConversation();
  await answer();
}

// ---- sending and streaming --------------------------------------------------------------------------------

function updateComposer() {
  const busy = !!state.streaming && state.streaming.conv === state.conv;
  $('send').hidden = busy;
  $('stop').hidden = !busy;
}

async function send(text) {
  const conv = state.conv;
  if (!conv.model) {
    toast('Pick a model first (or download one under Models).');
    return;
  }
  conv.messages.push({ id: newId(), role: 'user', content: text });
  if (conv.messages.length === 1 || conv.title === 'New chat') conv.title = titleFrom(text);
  renderConversation();
  await save(conv);
  await answer();
}

async function answer() {
  if (state.streaming) return;
  const conv = state.conv;
  const model = currentModel();
  const history = conv.messages.slice();
  let body;
  try {
    body = buildChatRequest(conv, history, { model: conv.model, routed: !!model?.routed });
  } catch (e) {
    toast(e.message);
    return;
  }
  const msg = { id: newId(), role: 'assistant', content: '', model: conv.model, pending: true };
  conv.messages.push(msg);
  const controller = new AbortController();
  state.streaming = { conv, msg, controller };
  $('messages').append(messageView(msg, conv.messages.length - 1));
  emptyView.hidden = true;
  $('messages').scrollTop = $('messages').scrollHeight;
  updateComposer();

  const times = { start: performance.now(), firstToken: null, end: null, usage: null };
  let timer = 0;
  const render = () => {
    timer = 0;
    if (state.conv === conv) replaceMessageView(msg);
  };
  const schedule = () => {
    if (!timer) timer = setTimeout(render, 60); // at most ~16 renders a second: Markdown is re-parsed whole
  };
  let routeHeader = null;
  try {
    for await (const chunk of api.chat(body, controller.signal)) {
      if (chunk.routeHeader) {
        routeHeader = chunk.routeHeader; // the same as the first chunk's `hearth` object says, in short
        continue;
      }
      const changed = applyChunk(msg, chunk);
      if (changed.content || changed.reasoning) {
        times.firstToken ??= performance.now();
        times.chunks = (times.chunks || 0) + 1;
      }
      if (chunk.usage) times.usage = chunk.usage;
      if (changed.content || changed.reasoning || changed.tools || changed.meta) schedule();
    }
  } catch (e) {
    if (e.name === 'AbortError') msg.stopped = true;
    else msg.error = explain(e);
  }
  clearTimeout(timer);
  if (!msg.hearth && (routeHeader === 'local' || routeHeader === 'cloud')) msg.hearth = { route: routeHeader };
  times.end = performance.now();
  delete msg.pending;
  msg.stats = answerStats(times);
  state.streaming = null;
  if (conv.deleted) {
    updateComposer();
    return;
  }
  await save(conv);
  // Whole list again: the earlier answer loses its Regenerate button, this one gets its buttons.
  if (state.conv === conv) renderConversation();
  else updateComposer();
  if (msg.hearth) refreshSpend();
}

// A server refusal in words a user can act on.
function explain(e) {
  if (!(e instanceof ApiError)) return `Something went wrong: ${e.message}`;
  if (e.status === 0) return e.message;
  if (e.status === 401) return `The server refused the key: ${e.message}`;
  if (e.status === 404) return `Model not available: ${e.message}`;
  if (e.status === 413 || e.code === 'context_length_exceeded') return `The conversation is too long for this model: ${e.message}. Start a new chat or shorten it.`;
  if (e.status === 429 || e.status === 402) return `Refused: ${e.message}`;
  if (e.status === 503) return `The server is busy: ${e.message}. Try again in a moment.`;
  return `The server refused: ${e.message}`;
}

function stop() {
  state.streaming?.controller.abort();
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('input');
  const text = input.value.trim();
  if (!text || state.streaming) return;
  input.value = '';
  autosize();
  send(text);
});
$('stop').addEventListener('click', stop);
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});
function autosize() {
  const t = $('input');
  t.style.height = 'auto';
  t.style.height = Math.min(t.scrollHeight, 240) + 'px';
}
$('input').addEventListener('input', autosize);
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || document.querySelector('dialog[open]')) return;
  if (state.streaming) {
    e.preventDefault();
    stop();
  } else if (document.body.classList.contains('sidebar-open')) setSidebar(false);
});

// ---- settings -----------------------------------------------------------------------------------------------

function openSettings() {
  const conv = state.conv;
  $('set-system').value = conv.system || '';
  const grid = $('set-fields');
  grid.replaceChildren();
  for (const s of SETTINGS) {
    const input = el('input', { type: 'number', id: `set-${s.key}`, step: String(s.step), min: String(s.min), max: String(s.max), placeholder: 'default', 'aria-describedby': `help-${s.key}` });
    input.value = conv.settings?.[s.key] ?? '';
    grid.append(el('label', { class: 'field' }, el('span', { text: s.label }), input, el('small', { id: `help-${s.key}`, text: s.help })));
  }
  $('settings-error').textContent = '';
  $('settings-dialog').showModal();
  $('set-system').focus();
}
$('open-settings').addEventListener('click', openSettings);
$('settings-cancel').addEventListener('click', () => $('settings-dialog').close());
$('settings-reset').addEventListener('click', () => {
  $('set-system').value = '';
  for (const s of SETTINGS) $(`set-${s.key}`).value = '';
});
$('settings-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const settings = {};
  try {
    for (const s of SETTINGS) {
      const v = parseSetting(s, $(`set-${s.key}`).value);
      if (v !== undefined) settings[s.key] = v;
    }
  } catch (err) {
    $('settings-error').textContent = err.message;
    return;
  }
  state.conv.system = $('set-system').value;
  state.conv.settings = settings;
  $('settings-dialog').close();
  if (state.conv.messages.length) await save(state.conv);
  toast('Settings saved for this conversation');
});

// ---- models panel -------------------------------------------------------------------------------------------

function renderModelList() {
  const ul = $('model-list');
  ul.replaceChildren();
  const local = state.models.filter((m) => !m.routed);
  if (!local.length) ul.append(el('li', { class: 'note', text: 'No models yet. Download one above.' }));
  for (const m of local) {
    const details = el('button', { type: 'button', class: 'btn small', text: 'Details', 'aria-label': `Details of ${m.name}` });
    details.addEventListener('click', () => showDetails(m.name));
    const del = el('button', { type: 'button', class: 'btn small danger-ghost', text: 'Delete', 'aria-label': `Delete ${m.name}` });
    del.addEventListener('click', () => removeModel(m.name));
    const meta = [formatBytes(m.size), m.params && `${m.params} parameters`, m.quant].filter(Boolean).join(' · ');
    ul.append(el('li', { class: 'model-row', 'data-model': m.name },
      el('div', { class: 'model-name' }, el('strong', { text: m.name }), el('small', { text: meta })),
      el('div', { class: 'model-actions' }, details, del)));
  }
}

async function showDetails(name) {
  const box = $('model-details');
  box.hidden = false;
  box.replaceChildren(el('p', { class: 'note', text: `Loading ${name}…` }));
  try {
    const show = await api.show(name);
    const dl = el('dl', { class: 'details-list' });
    for (const [k, v] of modelDetails(show)) dl.append(el('div', {}, el('dt', { text: k }), el('dd', { text: String(v) })));
    box.replaceChildren(el('h3', { text: name }), dl);
    if (show.parameters) box.append(el('details', {}, el('summary', { text: 'Default parameters' }), el('pre', { text: show.parameters })));
    if (show.template) box.append(el('details', {}, el('summary', { text: 'Chat template' }), el('pre', { class: 'template', text: show.template })));
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error-text', role: 'alert', text: e.message }));
  }
}

async function removeModel(name) {
  const ok = await ask({ title: `Delete ${name}?`, message: 'Its file is removed from this computer (unless another model uses it). You can download it again later.', confirm: true, okText: 'Delete', danger: true });
  if (!ok) return;
  try {
    await api.remove(name);
    toast(`Deleted ${name}`);
  } catch (e) {
    toast(`Could not delete ${name}: ${e.message}`);
  }
  $('model-details').hidden = true;
  await loadModels();
}

let pulling = false;
$('pull-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (pulling) return;
  const ref = $('pull-ref').value.trim();
  if (!ref) return;
  pulling = true;
  $('pull-btn').disabled = true;
  const bar = $('pull-bar');
  const status = $('pull-status');
  $('pull-progress').hidden = false;
  $('pull-progress').classList.remove('failed', 'done');
  bar.removeAttribute('value'); // indeterminate until the size is known
  status.textContent = 'Starting…';
  try {
    for await (const line of api.pull(ref)) {
      const p = pullProgress(line);
      if (p.percent != null) bar.value = p.percent;
      const done = line.completed != null && line.total ? ` ${formatBytes(line.completed)} of ${formatBytes(line.total)}` : '';
      status.textContent = p.percent != null && line.status !== 'success' ? `Downloading…${done} (${Math.floor(p.percent)}%)` : p.status;
      if (line.status === 'success') {
        bar.value = 100;
        status.textContent = `Done: ${ref} is ready`;
        $('pull-progress').classList.add('done');
      }
    }
    $('pull-ref').value = '';
    await loadModels();
  } catch (err) {
    $('pull-progress').classList.add('failed');
    status.textContent = `Download failed: ${err.message}`;
    status.setAttribute('role', 'alert');
  } finally {
    pulling = false;
    $('pull-btn').disabled = false;
  }
});

$('open-models').addEventListener('click', () => {
  $('models-dialog').showModal();
  loadModels();
  $('pull-ref').focus();
});
$('models-close').addEventListener('click', () => $('models-dialog').close());
$('cta-models').addEventListener('click', () => $('open-models').click());
for (const chip of document.querySelectorAll('.suggestions .chip')) {
  chip.addEventListener('click', () => {
    $('pull-ref').value = chip.dataset.ref;
    $('pull-btn').focus();
  });
}

// ---- export / import ----------------------------------------------------------------------------------------

$('export').addEventListener('click', async () => {
  const all = await state.db.list();
  const blob = new Blob([exportJSON(all)], { type: 'application/json' });
  const a = el('a', { href: URL.createObjectURL(blob), download: `hearth-chats-${new Date().toISOString().slice(0, 10)}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
});
$('import').addEventListener('click', () => $('import-file').click());
$('import-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  try {
    const convs = parseImport(await file.text());
    for (const c of convs) await state.db.put(c);
    await refreshConvs();
    toast(`Imported ${convs.length} conversation${convs.length === 1 ? '' : 's'}`);
    if (convs.length) openConversation(convs[0].id);
  } catch (err) {
    toast(`Import failed: ${err.message}`);
  }
});

$('new-chat').addEventListener('click', () => {
  startNew();
  if (phone()) setSidebar(false);
});

// ---- start --------------------------------------------------------------------------------------------------

async function main() {
  state.db = await openStore();
  await refreshConvs();
  const last = localStorage.getItem('hearth.lastConversation');
  if (last && state.convs.some((c) => c.id === last)) await openConversation(last);
  else startNew();
  await loadModels();
  if (!state.conv.messages.length && state.models.length && !state.models.some((m) => m.name === state.conv.model)) {
    state.conv.model = state.models.find((m) => !m.routed)?.name || state.models[0].name;
    renderModelPicker();
  }
  refreshSpend();
  if (!phone()) $('input').focus();
  document.body.dataset.ready = '1'; // for tests and for CSS: the first view is built
}

main().catch((e) => toast(`The page could not start: ${e.message}`));
