import { exportJSON, newConversation, openStore, parseImport, titleFrom } from '/js/db.js';
import { eq, ok, test, throws } from './harness.js';

const sample = () => {
  const c = newConversation('smollm2:latest');
  c.title = 'Test';
  c.system = 'Be brief.';
  c.settings = { temperature: 0.5, max_tokens: 32 };
  c.route = 'cloud';
  c.messages = [
    { id: 'u1', role: 'user', content: 'Hello **there**' },
    { id: 'a1', role: 'assistant', content: 'Hi!', model: 'smollm2:latest', reasoning: 'hm', hearth: { route: 'local', reason: 'easy', score: 0.1 },
      stats: { completionTokens: 2, tokPerSec: 10, ttftMs: 50 }, toolCalls: [{ id: 't', name: 'f', arguments: '{}' }], finish: 'stop' },
    { id: 'a2', role: 'assistant', content: '', error: 'refused', stopped: true },
  ];
  return c;
};

test('db: put, get, list newest first, remove (IndexedDB)', async () => {
  const name = `hearth-test-${Date.now()}`;
  const db = await openStore(name);
  try {
    const a = sample();
    const b = { ...sample(), id: 'second', updated: a.updated + 10 };
    await db.put(a);
    await db.put(b);
    eq(await db.get(a.id), a, 'stored as given');
    eq((await db.list()).map((c) => c.id), ['second', a.id]);
    await db.remove('second');
    eq((await db.list()).map((c) => c.id), [a.id]);
  } finally {
    db.close();
    indexedDB.deleteDatabase(name);
  }
});

test('export/import: a round trip gives the same conversations', () => {
  const convs = [sample(), { ...sample(), id: 'other', title: 'Other' }];
  const back = parseImport(exportJSON(convs));
  eq(back, convs);
  eq(JSON.parse(exportJSON(convs)).format, 'hearth-chat');
});

test('import: bad files are refused with a reason; unknown fields and wrong types dropped', () => {
  throws(() => parseImport('{'), /not JSON/);
  throws(() => parseImport('{"x":1}'), /conversations/);
  throws(() => parseImport('[{"messages":[{"role":"system","content":"x"}]}]'), /role/);
  throws(() => parseImport('[{"messages":[{"role":"user","content":5}]}]'), /content/);
  const [c] = parseImport(JSON.stringify([{ title: 7, evil: '<script>', settings: { temperature: 'hot', top_p: 0.5 }, route: 'mars',
    messages: [{ role: 'user', content: 'x', onclick: 'y' }] }]));
  eq(c.title, 'Imported chat');
  ok(!('evil' in c), 'unknown field dropped');
  eq(c.settings, { top_p: 0.5 });
  eq(c.route, 'auto');
  eq(Object.keys(c.messages[0]).sort(), ['content', 'id', 'role']);
});

test('titles come from the first line of the first message', () => {
  eq(titleFrom('  How do I\nbake bread?'), 'How do I');
  eq(titleFrom('x'.repeat(100)).length, 48);
  eq(titleFrom(''), 'New chat');
});
