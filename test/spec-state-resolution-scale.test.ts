import assert from 'node:assert/strict';
import { stateTuple } from '../spec/pdu';
import { roomVersion } from '../spec/room-versions';
import { resolveState } from '../spec/state-resolution';
import { ALICE, authorizeForTests, BOB, Dag } from './helpers/dag';

const PL = stateTuple('m.room.power_levels', '');
const TOPIC = stateTuple('m.room.topic', '');

function bigRoom(versionId: string, members: number): Dag {
  const dag = new Dag(roomVersion(versionId)!);
  dag.create('$create', ALICE);
  dag.member('$alice-join', ALICE, 'join');
  dag.powerLevels('$pl0', ALICE, { users: { [ALICE]: 100, [BOB]: 50 } });
  dag.joinRules('$jr0', ALICE, 'public');
  dag.member('$bob-join', BOB, 'join');
  for (let i = 0; i < members; i++) dag.member(`$join-${i}`, `@user${i}:example.org`, 'join');
  return dag;
}

describe('state resolution: scale', function () {
  this.timeout(60000);

  for (const version of ['2', '11', '12']) {
    it(`resolves forks of a 5000-member room in one pass over the auth graph (room v${version})`, async () => {
      const dag = bigRoom(version, 5000);
      const fork = '$join-4999';
      dag.powerLevels('$pl-demote', ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, { prev: [fork] });
      dag.topic('$topic-a', ALICE, 'a');
      dag.topic('$topic-b', BOB, 'b', { prev: [fork] });
      for (let i = 0; i < 300; i++) dag.member(`$leave-${i}`, `@user${i}:example.org`, 'leave');
      const source = dag.source();

      const started = process.hrtime.bigint();
      const resolved = await resolveState(
        dag.version,
        [dag.stateAfter('$topic-a'), dag.stateAfter('$leave-299')],
        source,
        authorizeForTests,
      );
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;

      assert.equal(resolved.get(PL), '$pl-demote');
      assert.equal(resolved.get(TOPIC), '$topic-a');
      assert.equal(resolved.get(stateTuple('m.room.member', '@user0:example.org')), '$leave-0');
      const fetched = source.calls.flat();
      assert.equal(new Set(fetched).size, fetched.length, 'each event fetched at most once');
      assert.ok(source.calls.length <= 8, `${source.calls.length} batches`);
      assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
    });
  }

  it('walks a 10000-long chain of power-level changes without recursion', async () => {
    const dag = bigRoom('11', 0);
    let users_default = 0;
    for (let i = 0; i < 10000; i++) {
      users_default = (users_default + 1) % 50;
      dag.powerLevels(`$pl-${i}`, ALICE, { users: { [ALICE]: 100, [BOB]: 50 }, users_default });
    }
    dag.topic('$topic-a', ALICE, 'a');
    dag.topic('$topic-b', BOB, 'b', { prev: ['$bob-join'] });

    const resolved = await resolveState(
      dag.version,
      [dag.stateAfter('$topic-a'), dag.stateAfter('$topic-b')],
      dag.source(),
      authorizeForTests,
    );

    assert.equal(resolved.get(PL), '$pl-9999');
    assert.equal(resolved.get(TOPIC), '$topic-a', 'the topic based on the newest power levels wins');
  });
});
