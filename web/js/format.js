// format.js: the small pure helpers that turn server data into words for the page.

export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
}

// "smollm2:latest · 98 MB · Q4_1" for the picker; router aliases say so.
export function modelLabel(m) {
  if (m.routed) return `${m.name} · router`; // the local/auto/cloud switch beside it says the rest
  const parts = [m.name];
  if (m.size) parts.push(formatBytes(m.size));
  if (m.quant) parts.push(m.quant);
  return parts.join(' · ');
}

// "42 tokens · 38.1 tok/s · first token 0.21 s"
export function formatStats(s) {
  if (!s) return '';
  const parts = [];
  if (s.completionTokens != null) parts.push(`${s.estimated ? '≈' : ''}${s.completionTokens} token${s.completionTokens === 1 ? '' : 's'}`);
  if (s.tokPerSec != null) parts.push(`${s.tokPerSec.toFixed(1)} tok/s`);
  if (s.ttftMs != null) parts.push(`first token ${(s.ttftMs / 1000).toFixed(2)} s`);
  return parts.join(' · ');
}

const ENTITY_WORDS = { email: 'email addresses', phone: 'phone numbers', payment_card: 'card numbers', iban: 'IBANs', ip: 'IP addresses', ip_address: 'IP addresses', person: 'names', secret: 'secrets', api_key: 'API keys' };

// The badge of a routed answer: {route, text, title}. `text` is short (shown), `title` says everything.
export function routeBadge(h) {
  if (!h || (h.route !== 'local' && h.route !== 'cloud')) return null;
  const where = h.route === 'cloud' ? `Cloud${h.upstream ? ' · ' + h.upstream : ''}` : 'Local';
  const lines = [h.route === 'cloud' ? `Answered in the cloud${h.upstream ? ' by ' + h.upstream : ''}` : 'Answered on this machine'];
  if (h.reason) lines.push(`Why: ${h.reason}`);
  if (typeof h.score === 'number') lines.push(`Score: ${h.score.toFixed(2)}`);
  const pseudo = Array.isArray(h.pseudonymized) ? h.pseudonymized.filter((x) => typeof x === 'string') : [];
  if (pseudo.length) lines.push(`Replaced before sending: ${pseudo.map((p) => ENTITY_WORDS[p] || p).join(', ')}`);
  return { route: h.route, text: where, detail: lines.slice(1).join(' · '), title: lines.join('\n'), pseudonymized: pseudo };
}

// A pull progress line -> {status, percent|null}.
export function pullProgress(line) {
  const status = typeof line.status === 'string' ? line.status : '';
  if (status === 'success') return { status: 'Done', percent: 100 };
  if (Number.isFinite(line.total) && line.total > 0 && Number.isFinite(line.completed))
    return { status, percent: Math.min(100, (100 * line.completed) / line.total) };
  return { status, percent: null };
}

// What the details view shows of /api/show: [label, value] pairs.
export function modelDetails(show) {
  const d = show?.details || {};
  const info = show?.model_info || {};
  const arch = info['general.architecture'] || d.family || '';
  const ctx = arch ? info[`${arch}.context_length`] : undefined;
  const rows = [
    ['Architecture', arch],
    ['Parameters', d.parameter_size || ''],
    ['Quantization', d.quantization_level || ''],
    ['Context length', Number.isFinite(ctx) ? ctx.toLocaleString('en-US') + ' tokens' : ''],
    ['Name in the file', info['general.name'] || ''],
    ['License', info['general.license'] || ''],
  ];
  return rows.filter(([, v]) => v !== '' && v != null);
}

export function formatUsd(x) {
  if (!Number.isFinite(x)) return '$0.00';
  return x < 0.01 && x > 0 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`;
}
