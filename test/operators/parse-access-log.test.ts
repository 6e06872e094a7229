/**
 * parse-access-log on inline fixture lines: combined and common formats, timezone offsets,
 * status/method filters, rejects with reasons, escaped quotes.
 */
import assert from 'node:assert/strict';
import { parseAccessLog } from '../../operators/parse-access-log/parse-access-log.js';
import { parseClfTime } from '../../operators/parse-access-log/access-log.js';
import { runOperator } from './harness.js';

const LINES = [
  '83.149.9.216 - - [17/Jan/2021:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh)"',
  '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 304 - "-" "agent with \\"quotes\\""',
  '10.0.0.1 - - [10/Oct/2000:13:55:36 +0530] "GET /a HTTP/1.1" 200 12',
  '10.0.0.2 - - [10/Oct/2000:13:55:36 +0000] "POST /login HTTP/1.1" 200 5 "-" "-"',
  '10.0.0.3 - - [10/Oct/2000:13:55:36 +0000] "GET /missing HTTP/1.1" 404 5 "-" "-"',
  'garbage line',
  '10.0.0.4 - - [31/Feb/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "-"',
  '10.0.0.5 - - [10/Oct/2000:13:55:36 +0000] "\\x16\\x03\\x01" 400 5 "-" "-"',
  '',
];

describe('operators/parse-access-log/parse-access-log', () => {
  it('parses CLF timestamps with their offsets', () => {
    assert.equal(parseClfTime('10/Oct/2000:13:55:36 -0700'), Date.UTC(2000, 9, 10, 20, 55, 36) / 1000);
    assert.equal(parseClfTime('10/Oct/2000:13:55:36 +0530'), Date.UTC(2000, 9, 10, 8, 25, 36) / 1000);
    assert.equal(parseClfTime('31/Feb/2000:13:55:36 +0000'), null);
    assert.equal(parseClfTime('10/Foo/2000:13:55:36 +0000'), null);
  });

  it('turns lines into pageviews, filters, and rejects malformed lines with reasons', async () => {
    const r = await runOperator(parseAccessLog, { host: 'semicomplete.com' }, { inputs: [{ lines: LINES }], outputs: 2 });
    assert.deepEqual(r.outputs[0]!.rows, [
      { url: 'http://semicomplete.com/presentations/logstash-monitorama-2013/images/kibana-search.png', person: 'ip:83.149.9.216', ts: Date.UTC(2021, 0, 17, 10, 5, 3) / 1000, status: 200, bytes: 203023, referrer: 'http://semicomplete.com/presentations/logstash-monitorama-2013/', agent: 'Mozilla/5.0 (Macintosh)' },
      { url: 'http://semicomplete.com/apache_pb.gif?x=1', person: 'ip:127.0.0.1', ts: Date.UTC(2000, 9, 10, 20, 55, 36) / 1000, status: 304, bytes: null, referrer: null, agent: 'agent with "quotes"' },
      { url: 'http://semicomplete.com/a', person: 'ip:10.0.0.1', ts: Date.UTC(2000, 9, 10, 8, 25, 36) / 1000, status: 200, bytes: 12, referrer: null, agent: null },
    ]);
    assert.deepEqual(r.outputs[1]!.rows.map((x) => x.reason), ['malformed', 'bad_timestamp', 'bad_request']);
    assert.equal(r.metrics['filtered.method'], 1);
    assert.equal(r.metrics['filtered.status'], 1);
    assert.equal(r.metrics['rejected.malformed'], 1);
    assert.equal(r.metrics.lines, 8);
  });

  it('honours statusFilter, methods and scheme params', async () => {
    const r = await runOperator(parseAccessLog, { host: 'h.com', scheme: 'https', statusFilter: [], methods: [] }, { inputs: [{ lines: LINES }] });
    assert.equal(r.outputs[0]!.rows.length, 5);
    assert.ok(r.outputs[0]!.rows.every((x) => (x.url as string).startsWith('https://h.com/')));
  });
});
