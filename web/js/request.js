// request.js: a conversation -> the body of POST /v1/chat/completions. hearth refuses fields it does not
// honour (a 400 naming them), so only fields the user set are sent, each checked against the server's ranges.

// The sampling settings a conversation may set: request field, label, input limits (the server's ranges).
export const SETTINGS = [
  { key: 'temperature', label: 'Temperature', min: 0, max: 2, step: 0.05, help: 'Higher is more varied; 0 always picks the likeliest word.' },
  { key: 'top_p', label: 'Top p', min: 0, max: 1, step: 0.01, help: 'Sample only from the likeliest words that add up to this share.' },
  { key: 'max_tokens', label: 'Max tokens', min: 1, max: 2147483647, step: 1, integer: true, help: 'Stop the answer after this many tokens.' },
  { key: 'seed', label: 'Seed', min: -9007199254740991, max: 9007199254740991, step: 1, integer: true, help: 'The same seed and settings give the same answer.' },
  { key: 'presence_penalty', label: 'Presence penalty', min: -2, max: 2, step: 0.1, help: 'Positive values push toward new topics.' },
  { key: 'frequency_penalty', label: 'Frequency penalty', min: -2, max: 2, step: 0.1, help: 'Positive values discourage repeating words.' },
];

export const ROUTES = ['local', 'auto', 'cloud'];

// A setting's value as the user typed it -> a number, or undefined when empty; throws on a bad value.
export function parseSetting(spec, raw) {
  const text = String(raw ?? '').trim();
  if (text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`${spec.label} must be a number`);
  if (spec.integer && !Number.isInteger(n)) throw new Error(`${spec.label} must be a whole number`);
  if (n < spec.min || n > spec.max) throw new Error(`${spec.label} must be between ${spec.min} and ${spec.max}`);
  return n;
}

// The messages sent for a history: the system prompt, then each user and assistant turn. Answers that failed
// (an error, nothing written) are left out; a stopped answer is kept as far as it got.
export function chatMessages(conv, history) {
  const out = [];
  if (conv.system && conv.system.trim()) out.push({ role: 'system', content: conv.system });
  for (const m of history) {
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    else if (m.role === 'assistant' && !m.error && (m.content || '') !== '') out.push({ role: 'assistant', content: m.content });
  }
  return out;
}

// The request body. `routed` says whether the model is a router alias (the only models that take `route`:
// a local model refuses route "cloud").
export function buildChatRequest(conv, history, { model, routed = false } = {}) {
  const body = {
    model: model ?? conv.model,
    messages: chatMessages(conv, history),
    stream: true,
    stream_options: { include_usage: true },
  };
  const settings = conv.settings || {};
  for (const spec of SETTINGS) {
    const v = settings[spec.key];
    if (v === undefined || v === null || v === '') continue;
    body[spec.key] = typeof v === 'number' ? v : parseSetting(spec, v);
  }
  if (routed && conv.route && ROUTES.includes(conv.route)) body.route = conv.route;
  return body;
}

// Folds one parsed chat.completion.chunk into the answer being built (pure: returns what changed).
// answer: {content, reasoning, toolCalls: [{id, name, arguments}], hearth, usage, finish}
export function applyChunk(answer, chunk) {
  const changed = { content: false, reasoning: false, tools: false, meta: false };
  if (chunk.hearth && !answer.hearth) {
    answer.hearth = chunk.hearth;
    changed.meta = true;
  }
  if (chunk.usage) {
    answer.usage = chunk.usage;
    changed.meta = true;
  }
  for (const choice of chunk.choices || []) {
    if (choice.index && choice.index !== 0) continue;
    const d = choice.delta || {};
    if (typeof d.content === 'string' && d.content !== '') {
      answer.content += d.content;
      changed.content = true;
    }
    if (typeof d.reasoning_content === 'string' && d.reasoning_content !== '') {
      answer.reasoning = (answer.reasoning || '') + d.reasoning_content;
      changed.reasoning = true;
    }
    if (Array.isArray(d.tool_calls)) {
      answer.toolCalls ??= [];
      for (const tc of d.tool_calls) {
        const k = Number.isInteger(tc.index) ? tc.index : answer.toolCalls.length;
        const slot = (answer.toolCalls[k] ??= { id: '', name: '', arguments: '' });
        if (tc.id) slot.id = tc.id;
        if (tc.function?.name) slot.name += tc.function.name;
        if (tc.function?.arguments) slot.arguments += tc.function.arguments;
      }
      changed.tools = true;
    }
    if (choice.finish_reason) {
      answer.finish = choice.finish_reason;
      changed.meta = true;
    }
  }
  return changed;
}

// Speed from the browser's clock and the server's usage: time to first token, and tokens per second over the
// time the tokens took to arrive (from the first to the last). Null fields when unknown.
// Without usage (a stopped answer gets none), `chunks` — the streamed pieces, one token each as hearth sends
// them — stands in for the token count, marked `estimated`.
export function answerStats({ start, firstToken, end, usage, chunks = 0 }) {
  const out = { ttftMs: null, tokPerSec: null, completionTokens: null, promptTokens: null, totalMs: null, estimated: false };
  if (start != null && end != null) out.totalMs = Math.max(0, end - start);
  if (start != null && firstToken != null) out.ttftMs = Math.max(0, firstToken - start);
  if (usage) {
    out.completionTokens = usage.completion_tokens ?? null;
    out.promptTokens = usage.prompt_tokens ?? null;
  } else if (chunks > 0) {
    out.completionTokens = chunks;
    out.estimated = true;
  }
  const n = out.completionTokens;
  if (n != null && n > 1 && firstToken != null && end != null && end > firstToken)
    out.tokPerSec = (n - 1) / ((end - firstToken) / 1000); // the first token's time is the TTFT
  return out;
}
