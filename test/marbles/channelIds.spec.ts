/**
 * The host's and the ME's ids for a channel have distinct types (issue #23, item 3): answering
 * with the wrong one, APF's classic bug, does not compile. The checks are the `@ts-expect-error`
 * lines: `npm test` compiles this file, and tsc fails if any of them stops being an error.
 */
import { strict as assert } from 'node:assert';
import { recipientOf, senderOf, type HostChannelId, type MeChannelId } from '../../src/streams/sessionTypes.js';

describe("the host's and the ME's channel ids", () => {
  it('are apart at compile time: neither takes the place of the other', () => {
    const confirmation = { recipient: 3, sender: 7 }; // the ME's OPEN_CONFIRMATION of our channel 3
    const table = new Map<HostChannelId, string>();
    table.set(recipientOf(confirmation), 'ours');
    // @ts-expect-error the ME's id is not a key of the host's table
    assert.equal(table.get(senderOf(confirmation)), undefined);
    // @ts-expect-error a host id is not the ME's
    const wrong: MeChannelId = recipientOf(confirmation);
    const meId: MeChannelId = senderOf(confirmation);
    assert.deepStrictEqual([table.get(recipientOf(confirmation)), meId, wrong], ['ours', 7, 3]);
  });
});
