// api.js: calls to the hearth server from the page. Every call carries `Authorization: Bearer <key>` once the
// user has given a key; keys live in sessionStorage only (gone when the tab closes). On a 401 the page asks
// for the key (through `askKey`, supplied by the UI) and retries; management routes (pull, delete, copy,
// create) may need the separate management key, which the server's 401 message names.

import { createNDJSONParser, createSSEParser, readStream } from './sse.js';

const KEY = { api: 'hearth.apiKey', management: 'hearth.managementKey' };

// An error the server sent (status and its message), or a network failure (status 0).
export class ApiError extends Error {
  constructor(status, message, code = null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The message of an error body: OpenAI's {"error": {"message"}} or Ollama's {"error": "..."}.
export function errorMessage(body, status) {
  if (body && typeof body === 'object') {
    const e = body.error;
    if (typeof e === 'string') return e;
    if (e && typeof e.message === 'string') return e.message;
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 500);
  return status ? `the server answered ${status}` : 'no answer from the server';
}

export function needsManagementKey(message) {
  return /management key/i.test(message || '');
}

export class Api {
  // askKey(kind: 'api'|'management', reason: string) -> Promise<string|null> (null: the user cancelled)
  constructor({ askKey, storage = globalThis.sessionStorage, fetchImpl = (...a) => globalThis.fetch(...a) } = {}) {
    this.askKey = askKey;
    this.storage = storage;
    this.fetchImpl = fetchImpl;
  }

  key(kind) {
    try {
      return this.storage?.getItem(KEY[kind]) || '';
    } catch {
      return '';
    }
  }

  setKey(kind, value) {
    if (value) this.storage?.setItem(KEY[kind], value);
    else this.storage?.removeItem(KEY[kind]);
  }

  headers(management, json) {
    const h = {};
    if (json) h['Content-Type'] = 'application/json';
    const key = (management && this.key('management')) || this.key('api');
    if (key) h.Authorization = `Bearer ${key}`;
    return h;
  }

  // fetch with the key; on 401 asks for the key (the API key, or the management key when the server says so)
  // and tries again until it works or the user cancels. Returns the Response when ok, throws ApiError else.
  async request(method, path, { body, management = false, signal } = {}) {
    for (;;) {
      let res;
      try {
        res = await this.fetchImpl(path, {
          method,
          headers: this.headers(management, body !== undefined),
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
          cache: 'no-store',
        });
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        throw new ApiError(0, 'cannot reach the hearth server (is `hearth serve` still running?)');
      }
      if (res.ok) return res;
      const text = await res.text().catch(() => '');
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch { /* not JSON: the text is the message */ }
      const message = errorMessage(parsed, res.status);
      if (res.status === 401 && this.askKey) {
        const kind = needsManagementKey(message) ? 'management' : 'api';
        const given = await this.askKey(kind, message);
        if (given) {
          this.setKey(kind, given);
          if (kind === 'management') management = true;
          continue;
        }
      }
      throw new ApiError(res.status, message, parsed?.error?.code ?? null);
    }
  }

  async json(method, path, opts) {
    const res = await this.request(method, path, opts);
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  // The models in the store (/api/tags) and the router's aliases: ids /v1/models lists that are not in the
  // store (e.g. "auto"). Each: {name, size, quant, params, family, routed}.
  async models() {
    const [tags, list] = await Promise.all([
      this.json('GET', '/api/tags'),
      this.json('GET', '/v1/models').catch(() => ({ data: [] })),
    ]);
    const out = (tags?.models || []).map((m) => ({
      name: m.name,
      size: m.size,
      quant: m.details?.quantization_level || '',
      params: m.details?.parameter_size || '',
      family: m.details?.family || '',
      routed: false,
    }));
    const known = new Set(out.map((m) => m.name));
    for (const m of list?.data || []) if (!known.has(m.id)) out.push({ name: m.id, size: 0, quant: '', params: '', family: '', routed: true });
    return out;
  }

  // The router's counters, or null when the server has no router (404).
  async routerStats() {
    try {
      return await this.json('GET', '/api/router/stats');
    } catch (e) {
      if (e.status === 404) return null;
      throw e;
    }
  }

  // Streams a chat answer: yields parsed chunks ({hearth}, deltas, usage) until [DONE]. Also yields
  // {route: header} first when the server sent x-hearth-route.
  async *chat(body, signal) {
    const res = await this.request('POST', '/v1/chat/completions', { body, signal });
    const route = res.headers.get('x-hearth-route');
    if (route) yield { routeHeader: route };
    for await (const data of readStream(res, createSSEParser())) {
      if (data === '[DONE]') return;
      let chunk;
      try {
        chunk = JSON.parse(data);
      } catch {
        throw new ApiError(200, 'the server sent an event that is not JSON');
      }
      // An error after the stream began comes as an event: {"error": {...}}.
      if (chunk.error) throw new ApiError(500, errorMessage(chunk), chunk.error.code ?? null);
      yield chunk;
    }
  }

  // Pulls a model; yields the NDJSON progress objects; throws on an {"error"} line.
  async *pull(model, signal) {
    const res = await this.request('POST', '/api/pull', { body: { model, stream: true }, management: true, signal });
    for await (const line of readStream(res, createNDJSONParser())) {
      if (line.error) throw new ApiError(500, errorMessage(line));
      yield line;
    }
  }

  remove(model) {
    return this.request('DELETE', '/api/delete', { body: { model }, management: true });
  }

  show(model) {
    return this.json('POST', '/api/show', { body: { model } });
  }
}
