import { Api, ApiError, errorMessage } from '/js/api.js';
import { eq, ok, rejects, test } from './harness.js';

// A fake fetch answering from a list of [status, body] in order, recording each request.
function fakeFetch(answers) {
  const calls = [];
  const fetchImpl = async (path, init) => {
    calls.push({ path, init });
    const [status, body] = answers.shift();
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  };
  return { calls, fetchImpl };
}
const memoryStorage = () => {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k), map: m };
};
const e401 = (message) => [401, { error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } }];

test('api: a 401 asks for the key once, stores it in session storage, retries with it', async () => {
  const { calls, fetchImpl } = fakeFetch([e401('missing API key: send Authorization: Bearer <key>'), [200, { models: [] }]]);
  const asked = [];
  const storage = memoryStorage();
  const api = new Api({ fetchImpl, storage, askKey: async (kind) => (asked.push(kind), 'sekret') });
  eq(await api.json('GET', '/api/tags'), { models: [] });
  eq(asked, ['api']);
  eq(calls[0].init.headers.Authorization, undefined, 'no key before one is given');
  eq(calls[1].init.headers.Authorization, 'Bearer sekret');
  eq(storage.map.get('hearth.apiKey'), 'sekret');
});

test('api: management routes ask for the management key when the server says so', async () => {
  const { calls, fetchImpl } = fakeFetch([e401('this route needs the management key'), [200, '']]);
  const storage = memoryStorage();
  storage.setItem('hearth.apiKey', 'inference');
  const asked = [];
  const api = new Api({ fetchImpl, storage, askKey: async (kind) => (asked.push(kind), 'admin') });
  await api.remove('x:latest');
  eq(asked, ['management']);
  eq(calls[0].init.headers.Authorization, 'Bearer inference', 'the API key is tried first');
  eq(calls[1].init.headers.Authorization, 'Bearer admin');
  eq(calls[1].init.method, 'DELETE');
  eq(JSON.parse(calls[1].init.body), { model: 'x:latest' });
});

test('api: cancelling the key prompt gives a 401 error with the server message', async () => {
  const { fetchImpl } = fakeFetch([e401('incorrect API key')]);
  const api = new Api({ fetchImpl, storage: memoryStorage(), askKey: async () => null });
  const e = await rejects(api.json('GET', '/api/tags'), /incorrect API key/);
  ok(e instanceof ApiError && e.status === 401, 'ApiError 401');
});

test('api: error messages from OpenAI and Ollama shapes; codes kept', async () => {
  eq(errorMessage({ error: { message: 'context too long' } }), 'context too long');
  eq(errorMessage({ error: 'model not found' }), 'model not found');
  eq(errorMessage('', 502), 'the server answered 502');
  const { fetchImpl } = fakeFetch([[413, { error: { message: 'the prompt has 9000 tokens', code: 'context_length_exceeded' } }]]);
  const api = new Api({ fetchImpl, storage: memoryStorage() });
  const e = await rejects(api.json('POST', '/v1/chat/completions', { body: {} }), /9000 tokens/);
  eq([e.status, e.code], [413, 'context_length_exceeded']);
});

test('api: models = /api/tags plus router aliases from /v1/models', async () => {
  const byPath = {
    '/api/tags': { models: [{ name: 'smollm2:latest', size: 10, details: { quantization_level: 'Q4_1', parameter_size: '135M' } }] },
    '/v1/models': { data: [{ id: 'smollm2:latest' }, { id: 'auto' }] },
  };
  const api = new Api({ storage: memoryStorage(), fetchImpl: async (p) => new Response(JSON.stringify(byPath[p])) });
  const models = await api.models();
  eq(models.map((m) => [m.name, m.quant, m.routed]), [['smollm2:latest', 'Q4_1', false], ['auto', '', true]]);
});

test('api: a chat stream yields chunks until [DONE]; an error event throws', async () => {
  const sse = 'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: [DONE]\n\ndata: {"never":1}\n\n';
  const api = new Api({ storage: memoryStorage(), fetchImpl: async () => new Response(sse, { headers: { 'x-hearth-route': 'local' } }) });
  const got = [];
  for await (const c of api.chat({})) got.push(c);
  eq(got, [{ routeHeader: 'local' }, { choices: [{ index: 0, delta: { content: 'a' } }] }]);
  const bad = new Api({ storage: memoryStorage(), fetchImpl: async () => new Response('data: {"error":{"message":"engine failed"}}\n\n') });
  await rejects((async () => { for await (const c of bad.chat({})) void c; })(), /engine failed/);
});

test('api: pull yields progress lines and throws on an error line', async () => {
  const nd = '{"status":"pulling manifest"}\n{"status":"pulling m","total":10,"completed":10}\n{"error":"disk full"}\n';
  const api = new Api({ storage: memoryStorage(), fetchImpl: async () => new Response(nd) });
  const got = [];
  await rejects((async () => { for await (const l of api.pull('m')) got.push(l.status); })(), /disk full/);
  eq(got, ['pulling manifest', 'pulling m']);
});
