// db.js: conversations kept in the browser (IndexedDB), and their export/import as JSON. Nothing leaves the
// browser: the server keeps no history.

const DB_VERSION = 1;
const STORE = 'conversations';

export function newId() {
  return (crypto.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);
}

export function newConversation(model = '') {
  const now = Date.now();
  return { id: newId(), title: 'New chat', created: now, updated: now, model, system: '', settings: {}, route: 'auto', messages: [] };
}

// A title from the first user message: its first line, shortened.
export function titleFrom(text) {
  const line = String(text || '').trim().split('\n')[0].replace(/\s+/g, ' ');
  return line.length > 48 ? line.slice(0, 47) + '…' : line || 'New chat';
}

function promisify(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// Opens (creating on first use) the database `name`. Returns the store's operations.
export async function openStore(name = 'hearth-chat') {
  const open = indexedDB.open(name, DB_VERSION);
  open.onupgradeneeded = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: 'id' }).createIndex('updated', 'updated');
  };
  const db = await promisify(open);
  const tx = (mode) => db.transaction(STORE, mode).objectStore(STORE);
  return {
    // Newest first.
    async list() {
      const all = await promisify(tx('readonly').getAll());
      return all.sort((a, b) => b.updated - a.updated);
    },
    get: (id) => promisify(tx('readonly').get(id)),
    put: (conv) => promisify(tx('readwrite').put(conv)),
    remove: (id) => promisify(tx('readwrite').delete(id)),
    clear: () => promisify(tx('readwrite').clear()),
    close: () => db.close(),
  };
}

export const EXPORT_FORMAT = 'hearth-chat';

export function exportJSON(conversations) {
  return JSON.stringify({ format: EXPORT_FORMAT, version: 1, exported: new Date().toISOString(), conversations }, null, 2);
}

const ROLES = new Set(['user', 'assistant']);

// Parses and checks an export; returns clean conversations (unknown fields dropped, types checked) or throws
// with a message that says what is wrong. Content stays untrusted text: it is rendered through markdown.js.
export function parseImport(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error('the file is not JSON');
  }
  const list = Array.isArray(data) ? data : data?.conversations;
  if (!Array.isArray(list)) throw new Error('the file holds no "conversations" list');
  return list.map((c, i) => {
    const at = `conversation ${i + 1}`;
    if (!c || typeof c !== 'object') throw new Error(`${at} is not an object`);
    if (!Array.isArray(c.messages)) throw new Error(`${at} has no messages list`);
    const str = (v, d = '') => (typeof v === 'string' ? v : d);
    const num = (v, d) => (Number.isFinite(v) ? v : d);
    const now = Date.now();
    const settings = {};
    if (c.settings && typeof c.settings === 'object')
      for (const [k, v] of Object.entries(c.settings)) if (Number.isFinite(v)) settings[k] = v;
    return {
      id: typeof c.id === 'string' && c.id ? c.id : newId(),
      title: str(c.title, 'Imported chat').slice(0, 200),
      created: num(c.created, now),
      updated: num(c.updated, now),
      model: str(c.model),
      system: str(c.system),
      settings,
      route: ['local', 'auto', 'cloud'].includes(c.route) ? c.route : 'auto',
      messages: c.messages.map((m, j) => {
        if (!m || !ROLES.has(m.role)) throw new Error(`${at}, message ${j + 1}: role must be user or assistant`);
        if (typeof m.content !== 'string') throw new Error(`${at}, message ${j + 1}: content must be text`);
        const out = { id: str(m.id) || newId(), role: m.role, content: m.content };
        for (const k of ['reasoning', 'error', 'model', 'finish']) if (typeof m[k] === 'string') out[k] = m[k];
        if (m.stopped === true) out.stopped = true;
        if (m.hearth && typeof m.hearth === 'object') out.hearth = m.hearth;
        if (m.stats && typeof m.stats === 'object') out.stats = m.stats;
        if (Array.isArray(m.toolCalls)) out.toolCalls = m.toolCalls.filter((t) => t && typeof t === 'object')
          .map((t) => ({ id: str(t.id), name: str(t.name), arguments: str(t.arguments) }));
        return out;
      }),
    };
  });
}
