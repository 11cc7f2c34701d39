import { createNDJSONParser, createSSEParser } from '/js/sse.js';
import { eq, ok, test } from './harness.js';

const enc = new TextEncoder();

// Feeds `bytes` to a fresh parser in the given pieces; returns everything it produced.
function feed(make, bytes, cuts) {
  const p = make();
  const out = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.slice(at, c)));
    at = c;
  }
  out.push(...p.end());
  return out;
}

// Every split into two pieces, and one byte at a time, gives what the whole gives.
function everySplit(make, text, expected) {
  const bytes = enc.encode(text);
  eq(feed(make, bytes, []), expected, 'whole');
  for (let i = 0; i <= bytes.length; i++) eq(feed(make, bytes, [i]), expected, `split at byte ${i}`);
  eq(feed(make, bytes, [...Array(bytes.length).keys()].slice(1)), expected, 'byte by byte');
}

const chunk = (content) => JSON.stringify({ choices: [{ index: 0, delta: { content } }] });

test('sse: data events, split at every byte boundary (multi-byte UTF-8 too)', () => {
  const text = `data: ${chunk('Grüße 👋')}\n\ndata: ${chunk('日本')}\n\ndata: [DONE]\n\n`;
  everySplit(createSSEParser, text, [chunk('Grüße 👋'), chunk('日本'), '[DONE]']);
});

test('sse: CRLF and lone CR line ends, split at every byte boundary', () => {
  everySplit(createSSEParser, 'data: a\r\n\r\ndata: b\r\rdata: c\n\n', ['a', 'b', 'c']);
});

test('sse: comments and other fields are ignored; data lines join with \\n; no space after the colon', () => {
  everySplit(createSSEParser, ': keep-alive\nevent: x\nid: 7\ndata:one\ndata: two\nretry: 5\n\n', ['one\ntwo']);
});

test('sse: an event the server did not close with a blank line still arrives at the end', () => {
  everySplit(createSSEParser, 'data: first\n\ndata: last', ['first', 'last']);
});

test('sse: a blank line without data dispatches nothing', () => {
  everySplit(createSSEParser, '\n\n: x\n\n', []);
});

test('ndjson: lines, split at every byte boundary, last line without a newline', () => {
  const lines = [{ status: 'pulling manifest' }, { status: 'pulling x', total: 100, completed: 42 }, { status: 'success', note: 'é✓' }];
  everySplit(createNDJSONParser, lines.map((l) => JSON.stringify(l)).join('\r\n'), lines);
});

test('ndjson: blank lines skipped, a line that is not JSON becomes an error object', () => {
  const out = feed(createNDJSONParser, enc.encode('{"a":1}\n\n  \nnot json\n{"b":2}\n'), []);
  eq(out.length, 3);
  eq(out[0], { a: 1 });
  ok(typeof out[1].error === 'string' && out[1].error.includes('not json'), out[1].error);
  eq(out[2], { b: 2 });
});

test('ndjson and sse accept strings as well as bytes', () => {
  const p = createSSEParser();
  eq([...p.push('data: x\n'), ...p.push('\n'), ...p.end()], ['x']);
  const n = createNDJSONParser();
  eq([...n.push('{"a"'), ...n.push(':1}\n'), ...n.end()], [{ a: 1 }]);
});
