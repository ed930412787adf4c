import type { INode } from 'n8n-workflow';
import { LtstError } from '../../src';
import { errorJson, toNodeError } from '../../nodes/shared/node-errors';

const node: INode = { id: 'n1', name: 'Retrieve Context', type: 'n8n-nodes-ltst-memory.ltstRetrieveContext', typeVersion: 1, position: [0, 0], parameters: {} };
const KEY = 'sk-test-0123456789abcdef';
const PASSWORD = 'pa55-n8n-layer';
const leaks = (text: string) => text.includes(KEY) || text.includes(PASSWORD);

describe('no secret reaches n8n', () => {
  it.each([
    ['an SDK error', Object.assign(new Error(`401 {"authorization":"Bearer ${KEY}"}`), { name: 'AuthenticationError' })],
    ['a driver error with detail and hint', Object.assign(new Error(`bad dsn postgres://app:${PASSWORD}@db/m`), { code: '08001', detail: `password=${PASSWORD}`, hint: `apikey: ${KEY}` })],
    ['a thrown string', `request to https://gw:${PASSWORD}@api.example/v1 failed`],
    ['an LtstError', new LtstError('INVALID_CONFIG', `key ${KEY} rejected`, { hint: `check password=${PASSWORD}` })],
  ])('masks %s in the NodeOperationError and the Continue On Fail item', (_name, error) => {
    const nodeError = toNodeError(node, error, 0);
    const persisted = JSON.stringify(nodeError.toJSON?.());
    const shown = [nodeError.message, nodeError.description ?? '', ...nodeError.messages, persisted, String(nodeError.stack), String((nodeError.cause as Error | undefined)?.stack)];
    expect(shown.filter(leaks)).toEqual([]);
    expect(persisted).toContain('***');
    expect(leaks(JSON.stringify(errorJson(error)))).toBe(false);
  });

  it('keeps what the user needs: the SQLSTATE and the error name', () => {
    const nodeError = toNodeError(node, Object.assign(new Error('no'), { name: 'DatabaseError', code: '23505', detail: 'Key (x)=(1) already exists.' }), 2);
    expect(nodeError).toMatchObject({ message: 'no', description: 'Key (x)=(1) already exists. (code 23505)' });
    expect((nodeError.cause as Error).name).toBe('DatabaseError');
    expect(nodeError.context.itemIndex).toBe(2);
  });
});
