import { formatBytes, formatStats, modelDetails, modelLabel, pullProgress, routeBadge } from '/js/format.js';
import { eq, ok, test } from './harness.js';

test('format: sizes and model labels (size, quantization; router aliases say so)', () => {
  eq(formatBytes(98362432), '98.4 MB');
  eq(formatBytes(253113024), '253 MB');
  eq(formatBytes(512), '512 B');
  eq(modelLabel({ name: 'smollm2:latest', size: 98362432, quant: 'Q4_1' }), 'smollm2:latest · 98.4 MB · Q4_1');
  ok(modelLabel({ name: 'auto', routed: true }).includes('router'));
});

test('format: answer stats in words', () => {
  eq(formatStats({ completionTokens: 42, tokPerSec: 38.14, ttftMs: 210 }), '42 tokens · 38.1 tok/s · first token 0.21 s');
  eq(formatStats({ completionTokens: 1, tokPerSec: null, ttftMs: null }), '1 token');
  eq(formatStats({ completionTokens: 9, estimated: true, tokPerSec: null, ttftMs: 50 }), '≈9 tokens · first token 0.05 s');
});

test('badge: local / cloud, upstream, reason, score, pseudonymized entity types', () => {
  const b = routeBadge({ route: 'cloud', upstream: 'gpt', reason: 'low confidence', score: 0.714, pseudonymized: ['email', 'phone'] });
  eq([b.route, b.text], ['cloud', 'Cloud · gpt']);
  ok(b.title.includes('low confidence') && b.title.includes('0.71'), b.title);
  ok(b.detail.includes('email addresses, phone numbers'), b.detail);
  const l = routeBadge({ route: 'local', reason: 'pinned', score: null, upstream: null });
  eq(l.text, 'Local');
  ok(!l.title.includes('Score'), 'no score when null');
  eq(routeBadge(undefined), null);
  eq(routeBadge({ route: '<img>' }), null, 'an unknown route shows no badge');
});

test('pull progress: percent from completed/total; success is 100', () => {
  eq(pullProgress({ status: 'pulling x', total: 200, completed: 50 }).percent, 25);
  eq(pullProgress({ status: 'pulling manifest' }).percent, null);
  eq(pullProgress({ status: 'success' }).percent, 100);
});

test('details: architecture, context length, quantization from /api/show', () => {
  const rows = Object.fromEntries(modelDetails({
    details: { quantization_level: 'Q4_1', parameter_size: '135M', family: 'llama' },
    model_info: { 'general.architecture': 'llama', 'llama.context_length': 8192 },
  }));
  eq([rows.Architecture, rows.Quantization, rows['Context length'], rows.Parameters], ['llama', 'Q4_1', '8,192 tokens', '135M']);
});
