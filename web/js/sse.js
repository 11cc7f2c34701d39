// sse.js: incremental parsers for the two streaming formats hearth speaks — Server-Sent Events (the OpenAI
// routes: `data: {...}` events ending with `data: [DONE]`) and NDJSON (the Ollama routes, e.g. /api/pull).
// Both are pure: they take bytes in arbitrary pieces (a network read may end anywhere, even inside a UTF-8
// sequence or between the \r and \n of a line break) and hand back whole events. No DOM, so they are unit-tested.

// Decodes UTF-8 across piece boundaries; accepts strings too (already decoded text).
function makeDecoder() {
  const dec = new TextDecoder('utf-8');
  return {
    push: (piece) => (typeof piece === 'string' ? piece : dec.decode(piece, { stream: true })),
    end: () => dec.decode(),
  };
}

// Splits text into lines on \n, \r\n or \r (as the SSE spec says). A trailing \r is held back until the next
// piece shows whether a \n follows it; the unfinished last line is kept in `rest`.
function makeLineSplitter(onLine) {
  let rest = '';
  function feed(text, final) {
    rest += text;
    let start = 0;
    for (let i = 0; i < rest.length; i++) {
      const c = rest[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r' && i + 1 === rest.length && !final) break; // maybe the first half of \r\n
      onLine(rest.slice(start, i));
      if (c === '\r' && rest[i + 1] === '\n') i++;
      start = i + 1;
    }
    rest = rest.slice(start);
    if (final && rest !== '') {
      onLine(rest);
      rest = '';
    }
  }
  return feed;
}

// SSE: returns {push(piece) -> [data...], end() -> [data...]}; each item is one event's data (its `data:`
// lines joined by \n). Other fields (event:, id:, retry:) and comments (`:`) are ignored: hearth sends none
// that matter to the page.
export function createSSEParser() {
  let data = null; // the current event's data lines, null until one arrives
  return lineParser(
    (line, emit) => {
      if (line === '') {
        if (data !== null) emit(data.join('\n'));
        data = null;
        return;
      }
      if (line.startsWith(':')) return;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') (data ??= []).push(value);
    },
    // The stream ended: an event without its closing blank line is still delivered (a server that closed early).
    (emit) => {
      if (data !== null) emit(data.join('\n'));
      data = null;
    },
  );
}

// NDJSON: one JSON value per line. A line that is not JSON becomes {error: "..."} so that the caller shows it
// rather than dying on it.
export function createNDJSONParser() {
  return lineParser((line, emit) => {
    const text = line.trim();
    if (text === '') return;
    try {
      emit(JSON.parse(text));
    } catch {
      emit({ error: `the server sent a line that is not JSON: ${text.slice(0, 200)}` });
    }
  });
}

// A streaming parser from a line handler: push(bytes) and end() return the items onLine (per complete line) and
// onEnd (after the last line) emitted since the previous call.
function lineParser(onLine, onEnd = () => {}) {
  const decoder = makeDecoder();
  let out = [];
  const emit = (item) => out.push(item);
  const feed = makeLineSplitter((line) => onLine(line, emit));
  const take = () => {
    const items = out;
    out = [];
    return items;
  };
  return {
    push(piece) {
      feed(decoder.push(piece), false);
      return take();
    },
    end() {
      feed(decoder.end(), true);
      onEnd(emit);
      return take();
    },
  };
}

// Reads a fetch Response body through a parser, yielding each parsed item as it arrives.
export async function* readStream(response, parser) {
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(value);
    }
    yield* parser.end();
  } finally {
    reader.releaseLock();
  }
}
