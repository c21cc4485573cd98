import { resolve } from 'node:path';
import { loadContract } from '../../src/contract/spec';
import { checkHandlersMatchContract } from '../../src/handlers';
import { createOperationRouter } from '../../src/contract/router';

const contract = loadContract(resolve(__dirname, '../../generated/openapi.yaml'));
const allIds = [...contract.operations.keys()];

describe('spec ↔ handler sync at start-up', () => {
  it('passes when every operation has exactly one handler', () => {
    expect(() => checkHandlersMatchContract(contract, allIds)).not.toThrow();
  });

  it('fails naming an operation without a handler and a handler without an operation', () => {
    const ids = [...allIds.filter((id) => id !== 'getPost'), 'getPostV2'];
    expect(() => checkHandlersMatchContract(contract, ids)).toThrow(
      /operation getPost has no handler[\s\S]*handler getPostV2 has no operation/,
    );
  });
});

describe('the operation router', () => {
  const router = createOperationRouter(contract);

  it('matches static and parametrised paths, literal segments first', () => {
    expect(router.match('GET', '/api/tokens/self').operation.operationId).toBe('getCurrentToken');
    const match = router.match('DELETE', '/api/tokens/tok_abc');
    expect(match.operation.operationId).toBe('revokeToken');
    expect(match.pathParams).toEqual({ tokenId: 'tok_abc' });
    expect(router.match('POST', '/api/tokens/tok_abc/rotate').operation.operationId).toBe('rotateToken');
  });

  it('answers 404 for unknown paths and 405 with Allow for unknown methods', () => {
    expect(() => router.match('GET', '/api/nope')).toThrow(expect.objectContaining({ status: 404 }));
    expect(() => router.match('PUT', '/api/posts')).toThrow(expect.objectContaining({ status: 405, headers: { Allow: 'GET, POST' } }));
  });

  it('refuses malformed percent-encoding with a 400', () => {
    expect(() => router.match('GET', '/api/posts/%E0%A4%A')).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('matches the last operation in the spec', () => {
    expect(router.match('PATCH', '/api/admin/users/usr_x').operation.operationId).toBe('updateUser');
  });
});
