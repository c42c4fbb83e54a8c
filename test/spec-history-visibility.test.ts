import assert from 'node:assert/strict';
import { allowedAt, historyVisibilityOf, isEventVisible, type ViewPoint } from '../spec/history-visibility';

describe('history visibility rules', () => {
  it('defaults to shared when unset or not understood', () => {
    assert.equal(historyVisibilityOf(undefined), 'shared');
    assert.equal(historyVisibilityOf({ history_visibility: 'sometimes' }), 'shared');
    assert.equal(historyVisibilityOf({ history_visibility: 'joined' }), 'joined');
  });

  const cases: [string, ViewPoint, boolean, boolean][] = [
    ['world_readable: anyone', { visibility: 'world_readable' }, false, true],
    ['joined at the event: allowed whatever the setting', { visibility: 'joined', membership: 'join' }, false, true],
    ['shared, joined later: allowed', { visibility: 'shared', membership: 'leave' }, true, true],
    ['shared, never joined: denied', { visibility: 'shared' }, false, false],
    ['invited, invited at the event: allowed', { visibility: 'invited', membership: 'invite' }, false, true],
    ['joined, invited at the event: denied', { visibility: 'joined', membership: 'invite' }, true, false],
    ['joined, left before the event: denied', { visibility: 'joined', membership: 'leave' }, true, false],
    ['shared, knocking and never joined: denied', { visibility: 'shared', membership: 'knock' }, false, false],
  ];
  for (const [name, view, joinedAfterwards, expected] of cases) {
    it(name, () => assert.equal(allowedAt(view, joinedAfterwards), expected));
  }

  it('shows a history-visibility change if either side allows it', () => {
    const input = {
      type: 'm.room.history_visibility',
      stateKey: '',
      userId: '@eve:x',
      before: { visibility: 'joined' as const },
      after: { visibility: 'world_readable' as const },
      joinedAfterwards: false,
    };
    assert.equal(isEventVisible(input), true);
    assert.equal(isEventVisible({ ...input, type: 'm.room.message', stateKey: undefined }), false);
  });

  it("shows the user's own membership change if either side allows it, but not someone else's", () => {
    const leaving = {
      type: 'm.room.member',
      stateKey: '@bob:x',
      userId: '@bob:x',
      before: { visibility: 'joined' as const, membership: 'invite' },
      after: { visibility: 'joined' as const, membership: 'join' },
      joinedAfterwards: true,
    };
    assert.equal(isEventVisible(leaving), true);
    assert.equal(isEventVisible({ ...leaving, userId: '@eve:x' }), false);
  });

  it("always shows the user their own leave or ban (a rejected invite, a kick), never someone else's", () => {
    const rejecting = {
      type: 'm.room.member',
      stateKey: '@bob:x',
      userId: '@bob:x',
      before: { visibility: 'joined' as const, membership: 'invite' },
      after: { visibility: 'joined' as const, membership: 'leave' },
      joinedAfterwards: false,
    };
    assert.equal(isEventVisible(rejecting), true);
    assert.equal(isEventVisible({ ...rejecting, after: { visibility: 'joined' as const, membership: 'ban' } }), true);
    assert.equal(isEventVisible({ ...rejecting, userId: '@eve:x' }), false);
    assert.equal(isEventVisible({ ...rejecting, after: { visibility: 'joined' as const, membership: 'knock' } }), false);
  });
});
