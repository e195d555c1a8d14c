import { strict as assert } from 'node:assert';
import { alertRequest } from '../../src/device/simulator/wsman.js';
import { parseAmtAlert } from '../../src/service/amtAlert.js';

describe('parseAmtAlert', () => {
  it('reads the message id, every argument in order and AMT\'s own time from the posted CIM_AlertIndication', () => {
    const a = parseAmtAlert(alertRequest('iAMT0067', ['1', 'a&b'], new Date('2026-11-30T10:00:00Z')))!;
    assert.deepStrictEqual([a.messageId, a.arguments, a.time.toISOString()], ['iAMT0067', ['1', 'a&b'], '2026-11-30T10:00:00.000Z']);
  });

  it('keeps a numeric-looking argument as text and falls back to the time of receipt without an AMT time', () => {
    const body = '<a:Envelope xmlns:a="s" xmlns:c="c"><a:Body><c:CIM_AlertIndication><c:MessageID>iAMT0005</c:MessageID><c:MessageArguments>007</c:MessageArguments></c:CIM_AlertIndication></a:Body></a:Envelope>';
    const at = new Date('2026-12-01T00:00:00Z');
    const a = parseAmtAlert(Buffer.from(`POST /wsman HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`), at)!;
    assert.deepStrictEqual([a.messageId, a.arguments, a.time], ['iAMT0005', ['007'], at]);
  });

  it('says there is no alert in a request without a MessageID, or one that is not XML', () => {
    assert.equal(parseAmtAlert(Buffer.from('POST / HTTP/1.1\r\n\r\n<a><b/></a>')), undefined);
    assert.equal(parseAmtAlert(Buffer.from('POST / HTTP/1.1\r\n\r\nnot xml <<<')), undefined);
  });
});
