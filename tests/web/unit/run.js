// run.js: loads every test file, then runs them. `?selfcheck` adds a test that must fail, so that the runner
// shows it notices failures (a harness that cannot fail proves nothing).
import { ok, run, test } from './harness.js';
import './sse.test.js';
import './markdown.test.js';
import './request.test.js';
import './format.test.js';
import './api.test.js';
import './db.test.js';

if (new URLSearchParams(location.search).has('selfcheck')) test('selfcheck: this test fails on purpose', () => ok(false, 'deliberate failure'));
run();
