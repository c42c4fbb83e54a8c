import assert from 'node:assert/strict';
import { canonicalJson, canonicalJsonBytes, compareCodePoints } from '../spec/canonical-json';
import { MatrixError } from '../spec/errors';

const LENIENT = { strict: false };
const STRICT = { strict: true };

function assertBadJson(fn: () => unknown, mentions?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MatrixError, `expected a MatrixError, got ${String(err)}`);
    assert.equal(err.errcode, 'M_BAD_JSON');
    assert.equal(err.status, 400);
    if (mentions) assert.match(err.message, mentions);
    return true;
  });
}

describe('canonical JSON (appendices, "Canonical JSON")', () => {
  describe('the examples of the appendix', () => {
    const examples: Array<[string, string]> = [
      ['{}', '{}'],
      ['{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}'],
      ['{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}'],
      ['{"b":"2","a":"1"}', '{"a":"1","b":"2"}'],
      [
        `{
          "auth": {
            "success": true,
            "mxid": "@john.doe:example.com",
            "profile": {
              "display_name": "John Doe",
              "three_pids": [
                { "medium": "email", "address": "john.doe@example.org" },
                { "medium": "msisdn", "address": "123456789" }
              ]
            }
          }
        }`,
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
      ],
      ['{\n    "a": "日本語"\n}', '{"a":"日本語"}'],
      ['{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}'],
      ['{\n    "a": "\\u65E5"\n}', '{"a":"日"}'],
      ['{\n    "a": null\n}', '{"a":null}'],
      ['{\n    "a": -0,\n    "b": 1e10\n}', '{"a":0,"b":10000000000}'],
    ];
    for (const [input, expected] of examples) {
      it(`${input.replace(/\s+/g, ' ')} → ${expected}`, () => {
        for (const options of [STRICT, LENIENT]) {
          assert.equal(canonicalJson(JSON.parse(input), options), expected);
          assert.deepEqual(canonicalJsonBytes(JSON.parse(input), options), Buffer.from(expected, 'utf8'));
        }
      });
    }
  });

  describe('strings: exactly the escapes the grammar requires', () => {
    const DEDICATED: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r' };

    it('escapes every ASCII control character, with \\uXXXX in lowercase hex unless it has a dedicated escape', () => {
      for (let code = 0; code < 0x20; code++) {
        const escape = DEDICATED[code] ?? `\\u00${code.toString(16).padStart(2, '0')}`;
        assert.equal(canonicalJson(String.fromCharCode(code)), `"${escape}"`, `U+${code.toString(16)}`);
      }
      assert.equal(canonicalJson('\u001f\u000b\u000e'), '"\\u001f\\u000b\\u000e"');
    });

    it('escapes only " and \\ among printable ASCII', () => {
      for (let code = 0x20; code < 0x7f; code++) {
        const char = String.fromCharCode(code);
        const expected = char === '"' ? '\\"' : char === '\\' ? '\\\\' : char;
        assert.equal(canonicalJson(char), `"${expected}"`);
      }
    });

    it('writes DEL, U+2028, U+2029, non-ASCII and astral characters as raw UTF-8', () => {
      const text = '\u007f\u2028\u2029é日\u{1F600}\u{10FFFF}';
      assert.equal(canonicalJson(text), `"${text}"`);
      assert.deepEqual(canonicalJsonBytes({ k: text }), Buffer.from(`{"k":"${text}"}`, 'utf8'));
      assert.equal(canonicalJsonBytes('\u{1F600}').length, 6);
    });

    it('refuses lone surrogates, in values and in keys, in both modes', () => {
      for (const bad of ['\ud800', 'a\udc00b', '\udc00\ud800', 'x\ud83d']) {
        assertBadJson(() => canonicalJson(bad), /surrogate/);
        assertBadJson(() => canonicalJson({ [bad]: 1 }, LENIENT), /surrogate/);
        assertBadJson(() => canonicalJson({ a: [{ b: bad }] }, LENIENT), /surrogate/);
      }
    });
  });

  describe('object keys sorted by Unicode code point', () => {
    it('sorts astral characters after U+E000-U+FFFF, unlike UTF-16 order', () => {
      const value = { '\u{10000}': 1, '\uffff': 2, a: 3, é: 4, '\ue000': 5, B: 6, '': 7, ab: 8 };
      assert.equal(canonicalJson(value), '{"":7,"B":6,"a":3,"ab":8,"é":4,"\ue000":5,"\uffff":2,"\u{10000}":1}');
    });

    it('agrees with UTF-8 byte order', () => {
      const alphabet = ['a', 'Z', '0', 'é', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1F600}', '\u{10FFFF}', ''];
      const keys = new Set<string>();
      for (const x of alphabet) for (const y of alphabet) for (const z of alphabet) keys.add(x + y + z);
      const byBytes = [...keys].sort((p, q) => Buffer.compare(Buffer.from(p, 'utf8'), Buffer.from(q, 'utf8')));
      assert.deepEqual([...keys].sort(compareCodePoints), byBytes);
      const encoded = canonicalJson(Object.fromEntries([...keys].reverse().map((k, i) => [k, i])));
      assert.deepEqual(Object.keys(JSON.parse(encoded)).filter((k) => !/^\d+$/.test(k)), byBytes.filter((k) => !/^\d+$/.test(k)));
    });

    it('sorts nested objects and keeps array order', () => {
      assert.equal(canonicalJson({ z: [3, 1, { y: 1, x: 2 }], a: { d: true, c: false } }), '{"a":{"c":false,"d":true},"z":[3,1,{"x":2,"y":1}]}');
    });

    it('encodes a `__proto__` key that JSON.parse made an own property, and null-prototype objects', () => {
      assert.equal(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":2}')), '{"__proto__":{"x":1},"a":2}');
      const bare = Object.create(null) as Record<string, unknown>;
      bare.b = 1;
      bare.a = 2;
      assert.equal(canonicalJson(bare), '{"a":2,"b":1}');
    });

    it('leaves out keys whose value is undefined, as JSON.stringify does', () => {
      assert.equal(canonicalJson({ b: undefined, a: 1 }), '{"a":1}');
    });
  });

  describe('numbers', () => {
    it('strict mode accepts integers in [-(2**53)+1, (2**53)-1] and nothing else', () => {
      assert.equal(canonicalJson(2 ** 53 - 1), '9007199254740991');
      assert.equal(canonicalJson(-(2 ** 53) + 1), '-9007199254740991');
      assert.equal(canonicalJson(-0), '0');
      assert.equal(canonicalJson([0, -1, 42]), '[0,-1,42]');
      assertBadJson(() => canonicalJson(2 ** 53), /outside/);
      assertBadJson(() => canonicalJson(-(2 ** 53)), /outside/);
      assertBadJson(() => canonicalJson({ a: { b: 1.5 } }), /not an integer/);
      assertBadJson(() => canonicalJson(0.1));
      for (const n of [NaN, Infinity, -Infinity]) assertBadJson(() => canonicalJson(n));
    });

    it('strict mode is the default', () => {
      assertBadJson(() => canonicalJson(1.5));
      assertBadJson(() => canonicalJsonBytes(1.5));
    });

    it('strict mode takes bigints within the range only', () => {
      assert.equal(canonicalJson(9007199254740991n), '9007199254740991');
      assert.equal(canonicalJson(-9007199254740991n), '-9007199254740991');
      assertBadJson(() => canonicalJson(9007199254740992n));
      assertBadJson(() => canonicalJson(-9007199254740992n));
    });

    it('lenient mode writes large integers in full, without exponents', () => {
      assert.equal(canonicalJson(2 ** 53, LENIENT), '9007199254740992');
      assert.equal(canonicalJson(1e21, LENIENT), '1000000000000000000000');
      assert.equal(canonicalJson(-(2 ** 64), LENIENT), '-18446744073709551616');
      assert.equal(canonicalJson(2n ** 63n - 1n, LENIENT), '9223372036854775807');
    });

    it('lenient mode writes floats as Python does (the reference encoder of old rooms)', () => {
      const cases: Array<[number, string]> = [
        [1.5, '1.5'],
        [-50.57, '-50.57'],
        [123.456, '123.456'],
        [0.1, '0.1'],
        [0.0001, '0.0001'],
        [0.00015, '0.00015'],
        [1e-5, '1e-05'],
        [1.5e-7, '1.5e-07'],
        [-2.5e-10, '-2.5e-10'],
        [5e-324, '5e-324'],
        [1234567890.125, '1234567890.125'],
      ];
      for (const [n, expected] of cases) assert.equal(canonicalJson(n, LENIENT), expected, String(n));
    });

    it('lenient mode still refuses NaN and infinities', () => {
      for (const n of [NaN, Infinity, -Infinity]) assertBadJson(() => canonicalJson({ a: n }, LENIENT));
    });
  });

  describe('values JSON cannot hold', () => {
    it('refuses undefined, functions, symbols, and non-plain objects', () => {
      class Thing {
        a = 1;
      }
      const bad: unknown[] = [undefined, () => 1, Symbol('s'), new Date(0), new Map(), new Thing(), Buffer.from('x')];
      for (const value of bad) {
        assertBadJson(() => canonicalJson(value, LENIENT));
        assertBadJson(() => canonicalJson({ a: [value] }, LENIENT));
      }
    });

    it('refuses undefined inside arrays rather than writing null', () => {
      assertBadJson(() => canonicalJson([1, undefined]));
    });

    it('answers over-deep nesting with M_BAD_JSON, not a stack overflow', () => {
      const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000));
      assertBadJson(() => canonicalJson(deep), /nested/);
    });
  });

  it('has no insignificant whitespace', () => {
    assert.equal(canonicalJson({ a: [1, 2, { b: 'c d' }], e: 'f\tg' }), '{"a":[1,2,{"b":"c d"}],"e":"f\\tg"}');
    assert.equal(canonicalJson([]), '[]');
    assert.equal(canonicalJson(true), 'true');
    assert.equal(canonicalJson(null), 'null');
  });
});
