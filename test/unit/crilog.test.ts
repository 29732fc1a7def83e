import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CriLogWriter, LineSplitter, MAX_RECORD_BYTES, parseRecord, readMessages, rfc3339Nano } from '../../src/agent/logs/cri-log.js';

describe('CRI log format', () => {
  it('formats RFC3339Nano timestamps like containerd', () => {
    assert.equal(rfc3339Nano(new Date('2016-10-06T00:17:09.669Z')), '2016-10-06T00:17:09.669000000Z');
  });

  it('splits chunks into F lines, keeps unterminated text until the end, and P-splits long lines', () => {
    const out: string[] = [];
    const s = new LineSplitter(
      'stderr',
      (r) => out.push(r),
      () => new Date('2024-01-01T00:00:00Z'),
    );
    s.push('hel');
    s.push('lo\nwor');
    assert.deepEqual(out, ['2024-01-01T00:00:00.000000000Z stderr F hello\n']);
    s.push('x'.repeat(MAX_RECORD_BYTES + 10));
    assert.equal(out.length, 2);
    assert.equal(parseRecord(out[1]!.trimEnd())?.partial, true);
    s.end();
    assert.equal(out.length, 3);
    assert.equal(readMessages(out.join(''))[1], `wor${'x'.repeat(MAX_RECORD_BYTES + 10)}`);
  });

  it('writes a file that reads back as the original lines', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-crilog-'));
    try {
      const file = path.join(dir, 'c', '0.log');
      const w = new CriLogWriter(file);
      w.stdout.push('one\ntwo\n');
      w.stderr.push('oops\n');
      w.stdout.push('tail without newline');
      await w.close();
      const text = await readFile(file, 'utf8');
      assert.match(text, /^\S+Z stdout F one\n\S+Z stdout F two\n\S+Z stderr F oops\n\S+Z stdout F tail without newline\n$/);
      assert.deepEqual(readMessages(text), ['one', 'two', 'oops', 'tail without newline']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parses containerd records, including extra tags, and skips garbage', () => {
    assert.deepEqual(parseRecord('2016-10-06T00:17:09.669794202Z stdout F hello world'), {
      time: '2016-10-06T00:17:09.669794202Z',
      stream: 'stdout',
      partial: false,
      message: 'hello world',
    });
    assert.equal(parseRecord('2016-10-06T00:17:09.669794202Z stdout F:x empty-tagged')?.message, 'empty-tagged');
    assert.equal(parseRecord('not a log line'), undefined);
    assert.deepEqual(readMessages('garbage\n2016-10-06T00:17:09Z stdout P ab\n2016-10-06T00:17:09Z stdout F c\n'), ['abc']);
  });
});
