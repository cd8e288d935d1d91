import type { Connection } from '@temporalio/client';
import { expect, test } from 'vitest';
import { registerSearchAttributes, searchAttributeKeys } from '../../src/search-attributes';

// How start-up registers the search attributes, against an operator service that answers as a
// Temporal server does: "already exists" on a second start, PERMISSION_DENIED (gRPC 7) where the
// credentials may not manage the namespace (Temporal Cloud).

function server(answer: (name: string) => Error | undefined, existing: string[]) {
  const added: string[] = [];
  const connection = {
    operatorService: {
      addSearchAttributes: ({ searchAttributes }: { searchAttributes: Record<string, number> }) => {
        const [name] = Object.keys(searchAttributes);
        const error = answer(name as string);
        if (error) return Promise.reject(error);
        added.push(name as string);
        return Promise.resolve({});
      },
      listSearchAttributes: () => Promise.resolve({ customAttributes: Object.fromEntries(existing.map((name) => [name, 2])) }),
    },
  } as unknown as Connection;
  return { connection, added };
}

const grpcError = (code: number, message: string) => Object.assign(new Error(message), { code });
const names = searchAttributeKeys.map((key) => key.name);

test('registers every search attribute; one that exists already counts as registered', async () => {
  const fresh = server(() => undefined, []);
  await registerSearchAttributes(fresh.connection, 'default');
  expect(fresh.added).toEqual(names);
  const again = server((name) => (name === 'ClientNumber' ? grpcError(6, '6 ALREADY_EXISTS: Search attribute ClientNumber already exists.') : undefined), []);
  await registerSearchAttributes(again.connection, 'default');
  expect(again.added).toEqual(names.filter((name) => name !== 'ClientNumber'));
});

test('without permission to register them, start-up goes on when they exist, and names the missing ones otherwise', async () => {
  const denied = () => grpcError(7, '7 PERMISSION_DENIED: Request unauthorized.');
  await expect(registerSearchAttributes(server(denied, names).connection, 'firm.a1b2c')).resolves.toBeUndefined();
  const failure = await registerSearchAttributes(server(denied, ['ClientNumber', 'OffboardingStage']).connection, 'firm.a1b2c').catch((error: unknown) => error);
  expect(String(failure)).toContain('OffboardingClients (KeywordList), OffboardingPortals (KeywordList)');
  expect(String(failure)).toContain('are missing in namespace firm.a1b2c, and this connection may not create them');
  expect(String(failure)).not.toContain('ClientNumber');
});

test('any other failure stops start-up', async () => {
  await expect(registerSearchAttributes(server(() => grpcError(14, '14 UNAVAILABLE: connection refused'), []).connection, 'default')).rejects.toThrow('UNAVAILABLE');
});
