import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { alertRequest } from '../../src/device/simulator/wsman.js';
import { parseAmtAlert } from 'lms-rx';

/** AMT's own alert for a console's graceful reboot, laid out as the firmware posts it (test/fixtures/README.md). */
const AMT_REBOOT_ALERT = readFileSync('test/fixtures/amt-alert-iAMT0067-reboot.http');

/** Each element's path in document order, with prefixes: the layout, whatever the values. */
const layout = (request: Buffer): string[] => {
  const xml = request.toString('utf8').slice(request.indexOf('\r\n\r\n') + 4);
  const paths: string[] = [];
  const walk = (nodes: unknown[], at: string): void => {
    for (const n of nodes as Record<string, unknown>[]) {
      const name = Object.keys(n).find((k) => k !== ':@' && k !== '#text');
      if (!name || name === '?xml') continue;
      paths.push(`${at}/${name}`);
      walk(n[name] as unknown[], `${at}/${name}`);
    }
  };
  walk(new XMLParser({ preserveOrder: true, ignoreAttributes: true }).parse(xml) as unknown[], '');
  return paths;
};

describe('parseAmtAlert', () => {
  it("reads AMT's own alert from the body's CIM_AlertIndication, not the delivery's MessageID in the WS-Addressing header", () => {
    const a = parseAmtAlert(AMT_REBOOT_ALERT)!;
    assert.equal(a.messageId, 'iAMT0067');
    assert.equal(a.arguments[0], '1', 'argument 0 names the request: 1 is a reboot');
    assert.equal(a.arguments.length, 2);
    assert.equal(a.time.toISOString(), '2026-11-28T14:02:31.000Z');
  });

  it("finds no alert in an envelope whose only MessageID is the header's", () => {
    const xml = AMT_REBOOT_ALERT.toString('utf8').replace(/<a:Body>.*<\/a:Body>/, '<a:Body></a:Body>');
    assert.equal(parseAmtAlert(Buffer.from(xml)), undefined);
  });

  it("is posted by the simulated AMT in AMT's layout: the same header and body elements, in the same order", () => {
    assert.deepStrictEqual(layout(alertRequest('iAMT0067', ['1'], new Date())), layout(AMT_REBOOT_ALERT));
    const head = (r: Buffer) => r.toString('latin1', 0, r.indexOf('\r\n\r\n')).replace(/Content-Length: \d+/, '');
    assert.equal(head(alertRequest('iAMT0067', ['1'], new Date())), head(AMT_REBOOT_ALERT));
  });

  it("reads every argument in order and AMT's time from what the simulated AMT posts", () => {
    const a = parseAmtAlert(alertRequest('iAMT0067', ['1', 'a&b'], new Date('2026-11-30T10:00:00Z')))!;
    assert.deepStrictEqual([a.messageId, a.arguments.slice(0, 2), a.time.toISOString()], ['iAMT0067', ['1', 'a&b'], '2026-11-30T10:00:00.000Z']);
  });

  it('keeps a numeric-looking argument as text and falls back to the time of receipt without an AMT time', () => {
    const body =
      '<a:Envelope xmlns:a="s" xmlns:c="c"><a:Body><c:CIM_AlertIndication><c:MessageID>iAMT0005</c:MessageID><c:MessageArguments>007</c:MessageArguments></c:CIM_AlertIndication></a:Body></a:Envelope>';
    const at = new Date('2026-12-01T00:00:00Z');
    const a = parseAmtAlert(Buffer.from(`POST /wsman HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`), at)!;
    assert.deepStrictEqual([a.messageId, a.arguments, a.time], ['iAMT0005', ['007'], at]);
  });

  it('says there is no alert in a request without a CIM_AlertIndication, or one that is not XML', () => {
    assert.equal(parseAmtAlert(Buffer.from('POST / HTTP/1.1\r\n\r\n<a><b/></a>')), undefined);
    assert.equal(parseAmtAlert(Buffer.from('POST / HTTP/1.1\r\n\r\nnot xml <<<')), undefined);
  });
});
