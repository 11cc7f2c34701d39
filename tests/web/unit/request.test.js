import { answerStats, applyChunk, buildChatRequest, chatMessages, parseSetting, SETTINGS } from '/js/request.js';
import { eq, ok, test, throws } from './harness.js';

const conv = (extra = {}) => ({ model: 'smollm2:latest', system: '', settings: {}, route: 'auto', messages: [], ...extra });
const user = (content) => ({ role: 'user', content });

test('request: only the fields set are sent', () => {
  const body = buildChatRequest(conv(), [user('hi')]);
  eq(Object.keys(body).sort(), ['messages', 'model', 'stream', 'stream_options']);
  eq(body.stream_options, { include_usage: true });
  eq(body.messages, [{ role: 'user', content: 'hi' }]);
});

test('request: sampling settings are sent when set, as numbers', () => {
  const body = buildChatRequest(conv({ settings: { temperature: 0.2, max_tokens: 64, seed: 7, top_p: '0.9' } }), [user('x')]);
  eq([body.temperature, body.max_tokens, body.seed, body.top_p], [0.2, 64, 7, 0.9]);
  ok(!('presence_penalty' in body), 'unset fields absent');
});

test('request: route is sent only for router models', () => {
  eq(buildChatRequest(conv({ route: 'cloud' }), [user('x')]).route, undefined, 'local model');
  eq(buildChatRequest(conv({ route: 'cloud' }), [user('x')], { model: 'auto', routed: true }).route, 'cloud');
  eq(buildChatRequest(conv({ route: 'bogus' }), [user('x')], { model: 'auto', routed: true }).route, undefined);
});

test('request: system prompt first; failed answers left out; stopped ones kept', () => {
  const msgs = chatMessages(conv({ system: 'Be brief.' }), [
    user('a'), { role: 'assistant', content: '', error: 'refused' }, user('b'),
    { role: 'assistant', content: 'partial', stopped: true }, user('c'),
  ]);
  eq(msgs, [{ role: 'system', content: 'Be brief.' }, user('a'), user('b'), { role: 'assistant', content: 'partial' }, user('c')]);
  eq(chatMessages(conv({ system: '   ' }), [user('a')]), [user('a')], 'a blank system prompt is not sent');
});

test('settings: parsed and range-checked as the server checks them', () => {
  const t = SETTINGS.find((s) => s.key === 'temperature');
  const m = SETTINGS.find((s) => s.key === 'max_tokens');
  eq(parseSetting(t, ' 0.7 '), 0.7);
  eq(parseSetting(t, ''), undefined);
  throws(() => parseSetting(t, '3'), /between 0 and 2/);
  throws(() => parseSetting(t, 'warm'), /number/);
  throws(() => parseSetting(m, '1.5'), /whole number/);
  throws(() => parseSetting(m, '0'), /between/);
});

test('chunks: content, reasoning, tool calls, the hearth object (first chunk only), usage, finish', () => {
  const a = { content: '' };
  applyChunk(a, { hearth: { route: 'cloud', upstream: 'up', reason: 'hard', score: 0.71 }, choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] });
  applyChunk(a, { hearth: { route: 'local' }, choices: [{ index: 0, delta: { reasoning_content: 'think' } }] });
  const c = applyChunk(a, { choices: [{ index: 0, delta: { content: 'Hel' } }] });
  ok(c.content && !c.reasoning, 'what changed');
  applyChunk(a, { choices: [{ index: 0, delta: { content: 'lo' } }] });
  applyChunk(a, { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] } }] });
  applyChunk(a, { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } }] });
  applyChunk(a, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  applyChunk(a, { choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
  eq(a.content, 'Hello');
  eq(a.reasoning, 'think');
  eq(a.hearth.route, 'cloud', 'the first hearth object wins');
  eq(a.toolCalls, [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  eq(a.finish, 'stop');
  eq(a.usage.completion_tokens, 3);
});

test('stats: time to first token and tokens per second after the first', () => {
  const s = answerStats({ start: 1000, firstToken: 1200, end: 2200, usage: { prompt_tokens: 9, completion_tokens: 11 } });
  eq([s.ttftMs, s.tokPerSec, s.completionTokens, s.promptTokens, s.totalMs], [200, 10, 11, 9, 1200]);
  const none = answerStats({ start: 0, firstToken: null, end: 50, usage: null });
  eq([none.ttftMs, none.tokPerSec, none.completionTokens], [null, null, null]);
  const stopped = answerStats({ start: 0, firstToken: 100, end: 1100, usage: null, chunks: 21 });
  eq([stopped.completionTokens, stopped.estimated, stopped.tokPerSec], [21, true, 20], 'a stopped answer: counted pieces');
});
