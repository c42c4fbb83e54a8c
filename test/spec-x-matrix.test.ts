/** spec/x-matrix.ts: X-Matrix request signatures and the Authorization header's syntax. */
import assert from 'node:assert/strict';
import nacl from 'tweetnacl';
import { canonicalJsonBytes } from '../spec/canonical-json';
import { signingKeyPair } from '../spec/signing';
import { decodeBase64 } from '../spec/signing-key';
import { parseXMatrix, verifyXMatrix, xMatrixAuthorization, type SignedRequest } from '../spec/x-matrix';

const SEED = Buffer.from('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1', 'base64');
const KEY = signingKeyPair({ keyId: 'ed25519:1', seed: SEED });
const REQUEST: SignedRequest = {
  method: 'PUT',
  uri: '/_matrix/federation/v1/send/txn1?x=1',
  origin: 'origin.example',
  destination: 'destination.example:8448',
  content: { pdus: [], edus: [] },
};

describe('spec: X-Matrix request authentication', () => {
  it('signs the request JSON of the spec, which tweetnacl verifies', () => {
    const auth = parseXMatrix(xMatrixAuthorization(REQUEST, KEY))!;
    assert.deepEqual({ ...auth, sig: '' }, { origin: 'origin.example', destination: 'destination.example:8448', key: 'ed25519:1', sig: '' });
    const signed = canonicalJsonBytes({ method: 'PUT', uri: REQUEST.uri, origin: REQUEST.origin, destination: REQUEST.destination, content: REQUEST.content });
    assert.ok(nacl.sign.detached.verify(signed, decodeBase64(auth.sig)!, nacl.sign.keyPair.fromSeed(SEED).publicKey));
  });

  it('verifies the signature of the same request, and no other', () => {
    const auth = parseXMatrix(xMatrixAuthorization(REQUEST, KEY))!;
    assert.equal(verifyXMatrix(REQUEST, auth, KEY.publicKeyBase64), true);
    for (const changed of [
      { ...REQUEST, method: 'POST' },
      { ...REQUEST, uri: '/_matrix/federation/v1/send/txn2?x=1' },
      { ...REQUEST, origin: 'evil.example' },
      { ...REQUEST, destination: 'other.example' },
      { ...REQUEST, content: { pdus: [{}], edus: [] } },
      { ...REQUEST, content: undefined },
    ]) {
      assert.equal(verifyXMatrix(changed, auth, KEY.publicKeyBase64), false, JSON.stringify(changed));
    }
    const other = signingKeyPair({ keyId: 'ed25519:1', seed: Buffer.alloc(32, 7) });
    assert.equal(verifyXMatrix(REQUEST, auth, other.publicKeyBase64), false);
    assert.equal(verifyXMatrix(REQUEST, { ...auth, sig: 'not base64!' }, KEY.publicKeyBase64), false);
  });

  it('signs a request without a body without a content field', () => {
    const get: SignedRequest = { method: 'GET', uri: '/_matrix/federation/v1/version', origin: 'a', destination: 'b' };
    const auth = parseXMatrix(xMatrixAuthorization(get, KEY))!;
    assert.equal(verifyXMatrix(get, auth, KEY.publicKeyBase64), true);
    assert.equal(verifyXMatrix({ ...get, content: {} }, auth, KEY.publicKeyBase64), false);
  });

  it('parses the header as RFC 9110 allows: spaces, any case, quoted or bare values, escapes, unknown parameters', () => {
    const expected = { origin: 'a.example:8448', destination: 'b.example', key: 'ed25519:k1', sig: 'c2ln' };
    for (const header of [
      'X-Matrix origin="a.example:8448",destination="b.example",key="ed25519:k1",sig="c2ln"',
      'x-matrix   ORIGIN="a.example:8448" , Destination=b.example,\tkey=ed25519:k1 ,sig=c2ln',
      'X-Matrix origin=a.example:8448,destination="b\\.example",key="ed25519:k1",sig="c2ln",extra="ignored, really"',
      'X-Matrix sig="c2ln",key="ed25519:k1",destination="b.example",origin="a.example:8448"',
    ]) {
      assert.deepEqual(parseXMatrix(header), expected, header);
    }
    assert.deepEqual(parseXMatrix('X-Matrix origin="a",key="ed25519:k",sig="s"'), { origin: 'a', key: 'ed25519:k', sig: 's' });
  });

  it('refuses headers that are not X-Matrix or lack a parameter', () => {
    for (const header of [
      undefined,
      '',
      'Bearer abc',
      'X-Matrix',
      'X-Matrixorigin="a",key="k",sig="s"',
      'X-Matrix key="ed25519:k",sig="s"',
      'X-Matrix origin="a",sig="s"',
      'X-Matrix origin="a",key="ed25519:k"',
      'X-Matrix origin="a,key="ed25519:k",sig="s"',
      'X-Matrix origin="a" key="ed25519:k" sig="s"',
    ]) {
      assert.equal(parseXMatrix(header), undefined, String(header));
    }
  });
});
