/** The polkit rule: user lms may do what the power duty asks of logind, and nothing else. */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';

type Rule = (action: { id: string }, subject: { user: string }) => string;
const Result = { YES: 'yes', NO: 'no', NOT_HANDLED: 'not-handled' } as const;

/** The rule file as polkitd runs it: JavaScript calling polkit.addRule. */
const rule = (): Rule => {
  let added: Rule | undefined;
  const polkit = {
    Result,
    addRule: (f: Rule): void => {
      added = f;
    },
  };
  new Function('polkit', readFileSync('packaging/polkit/50-lms-rx.rules', 'utf8'))(polkit);
  return added ?? assert.fail('the file adds no rule');
};

describe('the polkit rule', () => {
  const decide = (id: string, user = 'lms'): string => rule()({ id }, { user });

  it('lets user lms schedule a poweroff or reboot, set the wall message, suspend and hibernate', () => {
    for (const id of ['power-off', 'reboot', 'suspend', 'hibernate', 'set-wall-message', 'power-off-multiple-sessions', 'reboot-multiple-sessions'])
      assert.equal(decide(`org.freedesktop.login1.${id}`), Result.YES, id);
  });

  it('grants lms nothing else: not overriding inhibitors, not managing units, no other user', () => {
    for (const id of [
      'org.freedesktop.login1.power-off-ignore-inhibit',
      'org.freedesktop.login1.reboot-ignore-inhibit',
      'org.freedesktop.login1.halt',
      'org.freedesktop.systemd1.manage-units',
      'org.freedesktop.login1.set-reboot-parameter',
    ])
      assert.equal(decide(id), Result.NOT_HANDLED, id);
    assert.equal(decide('org.freedesktop.login1.power-off', 'nobody'), Result.NOT_HANDLED);
  });
});
