/** Authorisation rules for m.room.member, every membership, every room version. */
import { ALICE, ALL_VERSIONS, allowed, BOB, CAROL, DAVE, refused, setLevels, TestRoom, version, type EventSpec } from './helpers/events';

const atLeast = (id: string, min: number) => Number(id) >= min;

describe('auth rules: m.room.member basics', () => {
  for (const id of ALL_VERSIONS) {
    it(`v${id}: refuses a member event without a state_key or membership, or with an unknown membership`, () => {
      const room = TestRoom.standard(id);
      refused(room, { type: 'm.room.member', sender: BOB, content: { membership: 'join' } }, /^m\.room\.member: no state_key/);
      refused(room, { type: 'm.room.member', sender: BOB, state_key: BOB, content: {} }, /^m\.room\.member: no state_key or no content\.membership/);
      refused(room, room.member(BOB, 'wave'), /^m\.room\.member: unknown membership "wave"/);
      refused(room, room.member(BOB, null as unknown as string), /unknown membership null/);
    });
  }
});

describe('auth rules: joins', () => {
  for (const id of ALL_VERSIONS) {
    describe(`room version ${id}`, () => {
      it("allows the creator's join straight after the create event, whatever the join rules", () => {
        const room = new TestRoom(version(id), ALICE);
        allowed(room, room.member(ALICE, 'join'));
      });

      it('refuses anyone else joining straight after the create event', () => {
        const room = new TestRoom(version(id), ALICE);
        refused(room, room.member(BOB, 'join'), /^m\.room\.member join: join rule invite/);
        refused(room, room.member(ALICE, 'join', BOB), /^m\.room\.member join: the sender is not the state_key/);
      });

      it("does not exempt the creator's join when the create event is not the only previous event", () => {
        const room = new TestRoom(version(id), ALICE);
        refused(room, { ...room.member(ALICE, 'join'), prev_events: [room.create.id, '$other'] }, /^m\.room\.member join: /);
        refused(room, { ...room.member(ALICE, 'join'), prev_events: ['$other'] }, /^m\.room\.member join: /);
      });

      it('refuses joining someone else', () => {
        const room = TestRoom.standard(id);
        refused(room, room.member(ALICE, 'join', BOB), /^m\.room\.member join: the sender is not the state_key/);
      });

      it('public: anyone not banned may join', () => {
        const room = TestRoom.standard(id, ALICE, 'public');
        allowed(room, room.member(BOB, 'join'));
        room.send(room.member(ALICE, 'ban', BOB));
        refused(room, room.member(BOB, 'join'), /^m\.room\.member join: the sender is banned/);
      });

      it('invite: only the invited or joined may join', () => {
        const room = TestRoom.standard(id, ALICE, 'invite');
        refused(room, room.member(BOB, 'join'), /^m\.room\.member join: join rule invite and the sender is not invited/);
        room.send(room.member(ALICE, 'invite', BOB));
        allowed(room, room.member(BOB, 'join'));
        room.join(BOB);
        allowed(room, room.member(BOB, 'join', BOB, { displayname: 'Bob' }));
        room.send(room.member(BOB, 'leave'));
        refused(room, room.member(BOB, 'join'), /not invited/);
      });

      it('no m.room.join_rules: as invite', () => {
        const room = new TestRoom(version(id), ALICE);
        room.join(ALICE);
        refused(room, room.member(BOB, 'join'), /join rule invite/);
        room.send(room.member(ALICE, 'invite', BOB));
        allowed(room, room.member(BOB, 'join'));
      });

      it('private and unknown join rules admit no one', () => {
        for (const rule of ['private', 'open-sesame']) {
          const room = TestRoom.standard(id, ALICE, rule);
          room.send(room.member(ALICE, 'invite', BOB));
          refused(room, room.member(BOB, 'join'), /^m\.room\.member join: join rule .* admits no join/);
        }
      });

      it(`knock join rule ${atLeast(id, 7) ? 'admits the invited' : 'is unknown, admitting no one'}`, () => {
        const room = TestRoom.standard(id, ALICE, 'knock');
        refused(room, room.member(BOB, 'join'), /^m\.room\.member join: /);
        room.send(room.member(ALICE, 'invite', BOB));
        if (atLeast(id, 7)) allowed(room, room.member(BOB, 'join'));
        else refused(room, room.member(BOB, 'join'), /admits no join/);
      });

      for (const rule of ['restricted', 'knock_restricted']) {
        const supported = atLeast(id, rule === 'restricted' ? 8 : 10);
        const via = (authoriser: string, signer = authoriser.slice(authoriser.indexOf(':') + 1)): EventSpec => ({
          type: 'm.room.member',
          sender: BOB,
          state_key: BOB,
          content: { membership: 'join', join_authorised_via_users_server: authoriser },
          pdu: { signatures: { 'b.test': { 'ed25519:1': 'x' }, [signer]: { 'ed25519:1': 'y' } } },
        });
        if (supported) {
          it(`${rule}: the invited, or a join authorised by a joined member who may invite`, () => {
            const room = TestRoom.standard(id, ALICE, rule, { invite: 10 });
            room.forceMembership(DAVE, 'join');
            refused(room, room.member(BOB, 'join'), /^m\.room\.member join: join_authorised_via_users_server is not a joined member who may invite/);
            allowed(room, via(ALICE));
            refused(room, via(DAVE), /who may invite/);
            setLevels(room, { [DAVE]: 10 }, { invite: 10 });
            allowed(room, via(DAVE));
            refused(room, via(CAROL), /who may invite/);
            room.send(room.member(ALICE, 'invite', BOB));
            allowed(room, room.member(BOB, 'join'));
          });

          it(`${rule}: a banned user may not join even when authorised`, () => {
            const room = TestRoom.standard(id, ALICE, rule);
            room.send(room.member(ALICE, 'ban', BOB));
            refused(room, via(ALICE), /the sender is banned/);
          });
        } else {
          it(`${rule}: unknown in this version, admitting no one`, () => {
            const room = TestRoom.standard(id, ALICE, rule);
            refused(room, via(ALICE), /admits no join/);
            room.send(room.member(ALICE, 'invite', BOB));
            refused(room, room.member(BOB, 'join'), /admits no join/);
          });
        }
      }

      if (atLeast(id, 8)) {
        it('join_authorised_via_users_server requires a signature from that user\'s server', () => {
          const room = TestRoom.standard(id, ALICE, 'public');
          const spec: EventSpec = { ...room.member(BOB, 'join', BOB, { join_authorised_via_users_server: ALICE }) };
          refused(room, spec, /^m\.room\.member join_authorised_via_users_server: not signed by the server of "@alice:a\.test"/);
          allowed(room, { ...spec, pdu: { signatures: { 'b.test': { 'ed25519:1': 'x' }, 'a.test': { 'ed25519:1': 'y' } } } });
          refused(room, room.member(BOB, 'join', BOB, { join_authorised_via_users_server: 42 }), /join_authorised_via_users_server/);
          refused(room, { ...spec, pdu: { signatures: { 'b.test': { 'ed25519:1': 'x' }, 'a.test': {} } } }, /not signed by the server/);
          refused(room, { ...room.member(ALICE, 'leave', DAVE, { join_authorised_via_users_server: CAROL }) }, /not signed by the server of "@carol:c\.test"/);
        });
      } else {
        it('join_authorised_via_users_server means nothing', () => {
          const room = TestRoom.standard(id, ALICE, 'public');
          allowed(room, room.member(BOB, 'join', BOB, { join_authorised_via_users_server: ALICE }));
        });
      }
    });
  }

  it('the creator is content.creator before v11, the create sender from v11', () => {
    for (const id of ['1', '10', '11', '12']) {
      const room = new TestRoom(version(id), ALICE, { creator: DAVE });
      const [creator, other] = atLeast(id, 11) ? [ALICE, DAVE] : [DAVE, ALICE];
      allowed(room, room.member(creator, 'join'));
      refused(room, room.member(other, 'join'), /^m\.room\.member join: /);
    }
  });

  it("v12: additional creators get no first-join exemption", () => {
    const room = new TestRoom(version('12'), ALICE, { additional_creators: [BOB] });
    refused(room, room.member(BOB, 'join'), /^m\.room\.member join: /);
  });
});

describe('auth rules: invites', () => {
  for (const id of ALL_VERSIONS) {
    describe(`room version ${id}`, () => {
      it('a joined member at the invite level may invite someone not joined or banned', () => {
        const room = TestRoom.standard(id, ALICE, 'invite');
        allowed(room, room.member(ALICE, 'invite', BOB));
        room.send(room.member(ALICE, 'invite', BOB));
        allowed(room, room.member(ALICE, 'invite', BOB));
        room.join(BOB);
        refused(room, room.member(ALICE, 'invite', BOB), /^m\.room\.member invite: the target's membership is join/);
        allowed(room, room.member(BOB, 'invite', CAROL));
      });

      it('refuses inviting a banned user', () => {
        const room = TestRoom.standard(id);
        room.send(room.member(ALICE, 'ban', BOB));
        refused(room, room.member(ALICE, 'invite', BOB), /the target's membership is ban/);
      });

      it('refuses invites from users who are not joined', () => {
        const room = TestRoom.standard(id, ALICE, 'invite');
        refused(room, room.member(BOB, 'invite', CAROL), /^m\.room\.member invite: the sender is not joined/);
        room.send(room.member(ALICE, 'invite', BOB));
        refused(room, room.member(BOB, 'invite', CAROL), /the sender is not joined/);
      });

      it('refuses invites below the invite level', () => {
        const room = TestRoom.standard(id, ALICE, 'public', { invite: 50 });
        room.join(BOB);
        refused(room, room.member(BOB, 'invite', CAROL), /below the invite level/);
        setLevels(room, { [BOB]: 50 }, { invite: 50 });
        allowed(room, room.member(BOB, 'invite', CAROL));
      });
    });
  }
});

describe('auth rules: leaving and kicks', () => {
  for (const id of ALL_VERSIONS) {
    describe(`room version ${id}`, () => {
      it('a user may leave when joined or invited (rejecting the invite), not otherwise', () => {
        const room = TestRoom.standard(id, ALICE, 'invite');
        refused(room, room.member(BOB, 'leave'), /^m\.room\.member leave: the sender is not invited, joined or knocking/);
        room.send(room.member(ALICE, 'invite', BOB));
        allowed(room, room.member(BOB, 'leave'));
        room.join(BOB);
        allowed(room, room.member(BOB, 'leave'));
        room.send(room.member(BOB, 'leave'));
        refused(room, room.member(BOB, 'leave'), /not invited, joined or knocking/);
      });

      it('a banned user cannot unban themselves by leaving', () => {
        const room = TestRoom.standard(id);
        room.join(BOB);
        room.send(room.member(ALICE, 'ban', BOB));
        refused(room, room.member(BOB, 'leave'), /^m\.room\.member leave: /);
      });

      it(`a knocking user ${atLeast(id, 7) ? 'may' : 'may not'} retract their knock`, () => {
        const room = TestRoom.standard(id, ALICE, 'knock');
        room.forceMembership(BOB, 'knock');
        if (atLeast(id, 7)) allowed(room, room.member(BOB, 'leave'));
        else refused(room, room.member(BOB, 'leave'), /not invited, joined or knocking/);
      });

      it('a kick needs the kick level and a level above the target', () => {
        const room = TestRoom.standard(id);
        room.join(BOB);
        room.join(CAROL);
        room.join(DAVE);
        allowed(room, room.member(ALICE, 'leave', BOB));
        refused(room, room.member(CAROL, 'leave', BOB), /^m\.room\.member leave: the sender's power level is below the kick level or not above the target's/);
        setLevels(room, { [CAROL]: 50, [DAVE]: 50 });
        allowed(room, room.member(CAROL, 'leave', BOB));
        refused(room, room.member(CAROL, 'leave', DAVE), /not above the target's/);
        refused(room, room.member(CAROL, 'leave', ALICE), /not above the target's/);
        setLevels(room, { [CAROL]: 50 }, { kick: 60 });
        refused(room, room.member(CAROL, 'leave', BOB), /below the kick level/);
      });

      it('a kick needs the sender joined', () => {
        const room = TestRoom.standard(id);
        room.join(BOB);
        setLevels(room, { [CAROL]: 100 });
        refused(room, room.member(CAROL, 'leave', BOB), /^m\.room\.member leave: the sender is not joined/);
      });

      it('an unban needs the ban level as well as the kick level', () => {
        const room = TestRoom.standard(id);
        room.join(CAROL);
        room.send(room.member(ALICE, 'ban', BOB));
        setLevels(room, { [CAROL]: 60 }, { kick: 50, ban: 75 });
        refused(room, room.member(CAROL, 'leave', BOB), /^m\.room\.member leave: the target is banned and the sender's power level is below the ban level/);
        setLevels(room, { [CAROL]: 75 }, { kick: 80, ban: 75 });
        refused(room, room.member(CAROL, 'leave', BOB), /below the kick level/);
        setLevels(room, { [CAROL]: 80 }, { kick: 80, ban: 75 });
        allowed(room, room.member(CAROL, 'leave', BOB));
      });
    });
  }
});

describe('auth rules: bans', () => {
  for (const id of ALL_VERSIONS) {
    describe(`room version ${id}`, () => {
      it('a ban needs the ban level and a level above the target', () => {
        const room = TestRoom.standard(id);
        room.join(BOB);
        room.join(CAROL);
        allowed(room, room.member(ALICE, 'ban', BOB));
        allowed(room, room.member(ALICE, 'ban', DAVE));
        refused(room, room.member(CAROL, 'ban', BOB), /^m\.room\.member ban: the sender's power level is below the ban level or not above the target's/);
        setLevels(room, { [CAROL]: 50, [BOB]: 50 });
        refused(room, room.member(CAROL, 'ban', BOB), /not above the target's/);
        allowed(room, room.member(CAROL, 'ban', DAVE));
      });

      it('a lower-power user cannot ban a higher one, even above the ban level', () => {
        const room = TestRoom.standard(id);
        room.join(BOB);
        room.join(CAROL);
        setLevels(room, { [BOB]: 50, [CAROL]: 10 }, { ban: 5 });
        refused(room, room.member(CAROL, 'ban', BOB), /^m\.room\.member ban: /);
        refused(room, room.member(BOB, 'ban', ALICE), /^m\.room\.member ban: /);
        allowed(room, room.member(BOB, 'ban', CAROL));
      });

      it('a ban needs the sender joined', () => {
        const room = TestRoom.standard(id);
        setLevels(room, { [CAROL]: 100 });
        refused(room, room.member(CAROL, 'ban', BOB), /^m\.room\.member ban: the sender is not joined/);
      });
    });
  }
});

describe('auth rules: knocking', () => {
  for (const id of ['1', '2', '3', '4', '5', '6']) {
    it(`v${id}: knock is an unknown membership`, () => {
      const room = TestRoom.standard(id, ALICE, 'knock');
      refused(room, room.member(BOB, 'knock'), /^m\.room\.member: unknown membership "knock"/);
    });
  }

  for (const id of ['7', '8', '9', '10', '11', '12']) {
    describe(`room version ${id}`, () => {
      it('allows knocking on a knock room by someone not banned, invited or joined', () => {
        const room = TestRoom.standard(id, ALICE, 'knock');
        allowed(room, room.member(BOB, 'knock'));
        room.send(room.member(BOB, 'knock'));
        allowed(room, room.member(BOB, 'knock'));
        allowed(room, room.member(ALICE, 'invite', BOB));
        room.send(room.member(ALICE, 'invite', BOB));
        refused(room, room.member(BOB, 'knock'), /^m\.room\.member knock: the sender's membership is invite/);
        room.join(BOB);
        refused(room, room.member(BOB, 'knock'), /the sender's membership is join/);
        room.send(room.member(ALICE, 'ban', BOB));
        refused(room, room.member(BOB, 'knock'), /the sender's membership is ban/);
      });

      it('refuses knocking for someone else', () => {
        const room = TestRoom.standard(id, ALICE, 'knock');
        refused(room, room.member(ALICE, 'knock', BOB), /^m\.room\.member knock: the sender is not the state_key/);
      });

      for (const rule of ['public', 'invite', 'restricted', 'private']) {
        it(`refuses knocking under join rule ${rule}`, () => {
          const room = TestRoom.standard(id, ALICE, rule);
          refused(room, room.member(BOB, 'knock'), /^m\.room\.member knock: the join rule does not allow knocking/);
        });
      }

      it(`knock_restricted ${atLeast(id, 10) ? 'allows' : 'does not allow'} knocking`, () => {
        const room = TestRoom.standard(id, ALICE, 'knock_restricted');
        if (atLeast(id, 10)) allowed(room, room.member(BOB, 'knock'));
        else refused(room, room.member(BOB, 'knock'), /does not allow knocking/);
      });
    });
  }
});
