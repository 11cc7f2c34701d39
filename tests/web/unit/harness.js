// harness.js: a minimal test harness for the page's modules, run in headless Chromium by run_unit.py, which
// reads window.__results. test() registers, run() runs in order (async tests awaited, each with a deadline).

const tests = [];

export function test(name, fn) {
  tests.push({ name, fn });
}

export class AssertionError extends Error {}

export function ok(cond, what) {
  if (!cond) throw new AssertionError(what || 'expected a true value');
}

// JSON with object keys sorted, so that equal data compares equal whatever order its keys were set in.
const canonical = (v) => (Array.isArray(v) ? v.map(canonical)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])])) : v);
const show = (v) => {
  try {
    return JSON.stringify(canonical(v));
  } catch {
    return String(v);
  }
};

// Deep equality through JSON (the values tested are plain data).
export function eq(actual, expected, what) {
  const a = show(actual);
  const e = show(expected);
  if (a !== e) throw new AssertionError(`${what ? what + ': ' : ''}expected ${e}, got ${a}`);
}

export function throws(fn, pattern, what) {
  try {
    fn();
  } catch (e) {
    if (pattern && !pattern.test(e.message)) throw new AssertionError(`${what || 'throws'}: message ${show(e.message)} does not match ${pattern}`);
    return e;
  }
  throw new AssertionError(`${what || 'expected an exception'}: nothing was thrown`);
}

export async function rejects(promise, pattern, what) {
  try {
    await promise;
  } catch (e) {
    if (pattern && !pattern.test(e.message)) throw new AssertionError(`${what || 'rejects'}: message ${show(e.message)} does not match ${pattern}`);
    return e;
  }
  throw new AssertionError(`${what || 'expected a rejection'}: it resolved`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run() {
  const results = { done: false, passed: 0, failed: 0, failures: [], names: [] };
  window.__results = results;
  const out = document.getElementById('out');
  const lines = [];
  for (const t of tests) {
    try {
      await Promise.race([
        Promise.resolve().then(() => t.fn()),
        sleep(10000).then(() => {
          throw new AssertionError('timed out after 10 s');
        }),
      ]);
      results.passed++;
      lines.push(`ok   ${t.name}`);
    } catch (e) {
      results.failed++;
      results.failures.push({ name: t.name, error: `${e.message}\n${e.stack || ''}` });
      lines.push(`FAIL ${t.name}: ${e.message}`);
    }
    results.names.push(t.name);
  }
  out.textContent = lines.join('\n');
  results.done = true;
}
