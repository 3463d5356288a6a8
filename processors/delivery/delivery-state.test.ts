import { DeliveryStateError } from './errors';
import {
  decodeEntry,
  doneEntry,
  encodeEntry,
  nextStep,
  pendingEntry,
  type DeliveryEntry,
} from './delivery-state';
import { testAlert } from './test-alert';

const now = new Date('2026-11-22T09:00:00.000Z');

function entry(overrides: Partial<DeliveryEntry>): DeliveryEntry {
  return {
    status: 'done',
    count: 1,
    step: 'send',
    outcome: 'delivered',
    issue_key: null,
    updated_at: now.toISOString(),
    ...overrides,
  };
}

describe('nextStep for webhook and Slack', () => {
  it('sends a new alert, resends one in doubt, and never sends a done one again', () => {
    expect(nextStep('webhook', undefined, testAlert())).toEqual({ action: 'send', inDoubt: false });
    expect(nextStep('slack', entry({ status: 'pending', outcome: null }), testAlert())).toEqual({
      action: 'send',
      inDoubt: true,
    });
    expect(nextStep('webhook', entry({}), testAlert({ count: 9 }))).toEqual({
      action: 'skip',
      reason: 'delivered',
    });
    expect(nextStep('slack', entry({ outcome: 'dead_lettered' }), testAlert())).toEqual({
      action: 'skip',
      reason: 'dead_lettered',
    });
  });
});

describe('nextStep for Jira', () => {
  it('creates once, then comments on a higher count only', () => {
    expect(nextStep('jira', undefined, testAlert())).toEqual({ action: 'create', inDoubt: false });
    const created = entry({ step: 'create', issue_key: 'OPS-1' });
    expect(nextStep('jira', created, testAlert())).toEqual({ action: 'skip', reason: 'delivered' });
    expect(nextStep('jira', created, testAlert({ count: 4 }))).toEqual({
      action: 'comment',
      issueKey: 'OPS-1',
      inDoubt: false,
    });
    expect(
      nextStep('jira', entry({ step: 'comment', issue_key: 'OPS-1', count: 4 }), testAlert({ count: 4 })),
    ).toEqual({
      action: 'skip',
      reason: 'delivered',
    });
  });

  it('looks up a create or comment in doubt instead of repeating it blindly', () => {
    expect(
      nextStep('jira', entry({ status: 'pending', step: 'create', outcome: null }), testAlert()),
    ).toEqual({
      action: 'create',
      inDoubt: true,
    });
    const commenting = entry({
      status: 'pending',
      step: 'comment',
      outcome: null,
      issue_key: 'OPS-1',
      count: 4,
    });
    expect(nextStep('jira', commenting, testAlert({ count: 4 }))).toEqual({
      action: 'comment',
      issueKey: 'OPS-1',
      inDoubt: true,
    });
    expect(nextStep('jira', commenting, testAlert({ count: 1 }))).toEqual({
      action: 'skip',
      reason: 'not_newer',
    });
    expect(nextStep('jira', commenting, testAlert({ count: 6 }))).toEqual({
      action: 'comment',
      issueKey: 'OPS-1',
      inDoubt: false,
    });
  });

  it('does not create again after a dead-lettered create', () => {
    expect(
      nextStep('jira', entry({ step: 'create', outcome: 'dead_lettered' }), testAlert({ count: 3 })),
    ).toEqual({
      action: 'skip',
      reason: 'dead_lettered',
    });
  });
});

describe('entries', () => {
  it('records the intent, then the outcome with the issue key, and round-trips through bytes', () => {
    const pending = pendingEntry({ action: 'create', inDoubt: false }, testAlert({ count: 2 }), now);
    expect(pending).toEqual({
      status: 'pending',
      count: 2,
      step: 'create',
      outcome: null,
      issue_key: null,
      updated_at: now.toISOString(),
    });
    const done = doneEntry(pending, 'delivered', now, 'OPS-7');
    expect(done).toMatchObject({ status: 'done', outcome: 'delivered', issue_key: 'OPS-7', count: 2 });
    expect(decodeEntry('k', encodeEntry(done))).toEqual(done);
  });

  it('refuses bytes that are not an entry', () => {
    expect(() => decodeEntry('k', Buffer.from('nope'))).toThrow(DeliveryStateError);
    expect(() => decodeEntry('k', Buffer.from('{"status":"sent"}'))).toThrow(DeliveryStateError);
  });
});
