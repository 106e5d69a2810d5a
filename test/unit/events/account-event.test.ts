import { toAccountEvent } from '../../../src/events/account-event.js';

const NOW = new Date('2026-01-02T03:04:05.000Z');

describe('toAccountEvent', () => {
  it('describes a link: the secondary split at its first bar, the former user id whole', () => {
    const event = toAccountEvent(
      'account.linked',
      {
        primaryId: 'auth0|p1',
        secondary: 'auth0|Conn|123',
        mode: 'admin',
        callerSubject: 'backend@clients',
        mergedMetadata: { userMetadataKeys: ['theme'], appMetadataKeys: [] },
        linkId: 'msg_1',
        reconciled: false,
      },
      NOW,
    );
    expect(event).toEqual({
      type: 'account.linked',
      timestamp: '2026-01-02T03:04:05.000Z',
      data: {
        primaryId: 'auth0|p1',
        provider: 'auth0',
        userId: 'Conn|123',
        formerUserId: 'auth0|Conn|123',
        mode: 'admin',
        callerSub: 'backend@clients',
        mergedMetadata: { userMetadataKeys: ['theme'], appMetadataKeys: [] },
        linkId: 'msg_1',
        reconciled: false,
      },
    });
  });

  it('sends an unlink with the user own token as mode jwt, with the detached user id', () => {
    const event = toAccountEvent(
      'account.unlinked',
      {
        primaryId: 'auth0|p1',
        secondary: 'github|42',
        mode: 'user',
        callerSubject: 'auth0|p1',
        reconciled: true,
      },
      NOW,
    );
    expect(event.data).toEqual({
      primaryId: 'auth0|p1',
      provider: 'github',
      userId: '42',
      detachedUserId: 'github|42',
      mode: 'jwt',
      callerSub: 'auth0|p1',
      reconciled: true,
    });
  });

  it('carries key names only: nothing else a merge plan holds reaches the body', () => {
    const keys = Object.assign(
      { userMetadataKeys: ['a'], appMetadataKeys: ['b'] },
      { update: { user_metadata: { a: 'value-1' } } },
    );
    const event = toAccountEvent('account.linked', {
      primaryId: 'auth0|p1',
      secondary: 'github|42',
      mode: 'jwt',
      callerSubject: 'auth0|p1',
      mergedMetadata: keys,
      reconciled: false,
    });
    expect(JSON.stringify(event)).not.toContain('value-1');
  });
});
