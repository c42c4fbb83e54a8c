/** spec/server-visibility.ts: the history visibility rules for a server as a whole. */
import assert from 'node:assert/strict';
import type { HistoryVisibility } from '../spec/history-visibility';
import { isEventVisibleToServer, serverMembership, serverOfUser } from '../spec/server-visibility';

const at = (visibility: HistoryVisibility, membership?: string) => ({ visibility, membership });
const message = { type: 'm.room.message', server: 'remote.example' };

describe('spec: history visibility for servers', () => {
  it('stands for the server with its most open membership', () => {
    assert.equal(serverMembership(['leave', 'join', 'invite']), 'join');
    assert.equal(serverMembership(['ban', 'invite']), 'invite');
    assert.equal(serverMembership(['leave']), 'leave');
    assert.equal(serverMembership([]), undefined);
    assert.equal(serverOfUser('@a:remote.example:8448'), 'remote.example:8448');
  });

  it('applies the rules at the event', () => {
    const visible = (before: ReturnType<typeof at>, joinedAfterwards = false) =>
      isEventVisibleToServer({ ...message, before, after: before, joinedAfterwards });
    assert.equal(visible(at('world_readable')), true);
    assert.equal(visible(at('joined', 'join')), true);
    assert.equal(visible(at('joined')), false);
    assert.equal(visible(at('joined', 'invite')), false);
    assert.equal(visible(at('invited', 'invite')), true);
    assert.equal(visible(at('shared')), false);
    assert.equal(visible(at('shared'), true), true);
    assert.equal(visible(at('invited'), true), false);
  });

  it('judges its own users\' membership events and visibility changes on the state after them too', () => {
    const joinEvent = (stateKey: string) =>
      isEventVisibleToServer({ type: 'm.room.member', stateKey, server: 'remote.example', before: at('joined'), after: at('joined', 'join'), joinedAfterwards: false });
    assert.equal(joinEvent('@bob:remote.example'), true);
    assert.equal(joinEvent('@carol:local.example'), false);
    const change = { type: 'm.room.history_visibility', stateKey: '', server: 'remote.example', joinedAfterwards: false };
    assert.equal(isEventVisibleToServer({ ...change, before: at('joined'), after: at('world_readable') }), true);
    assert.equal(isEventVisibleToServer({ ...message, before: at('joined'), after: at('world_readable'), joinedAfterwards: false }), false);
  });
});
