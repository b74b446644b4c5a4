import { replayState } from '@keyledger/domain';
import { deviceAuthorizationDecider as decider, DeviceEvent, normalizeUserCode } from './device-authorization.decider';
import { generateUserCode } from './codes';

const t0 = '2026-11-22T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(t0) + seconds * 1000).toISOString();
const requested: DeviceEvent = {
  type: 'DeviceAuthorizationRequested',
  data: { device_id: 'dev_1', device_code_hash: 'h', user_code: 'BCDF-GHJK', agent_name: 'bot', scopes: [], interval: 5, expires_at: at(900), requested_at: t0 },
};
const approved: DeviceEvent = {
  type: 'DeviceAuthorizationApproved',
  data: { device_id: 'dev_1', org_id: 'org_1', environment: 'test', agent_id: 'agt_1', scopes: ['*'], approved_by: 'key_1', approved_at: at(10) },
};
const given = (...events: DeviceEvent[]) => replayState(decider, events);
const redeem = (now: string, last: string | null = null) => ({ type: 'RedeemDeviceCode' as const, data: { key_id: 'key_9', last_polled_at: last, now } });

describe('device authorization decider', () => {
  it('starts pending with a 900 s expiry and a 5 s interval', () => {
    const [event] = decider.decide(
      { type: 'RequestDeviceAuthorization', data: { device_id: 'dev_1', device_code_hash: 'h', user_code: 'BCDF-GHJK', agent_name: 'bot', scopes: [], now: t0 } },
      decider.initialState(),
    );
    expect(event).toEqual(requested);
  });

  it('is pending until approved; a poll faster than the interval slows the client by 5 s more', () => {
    expect(decider.decide(redeem(at(1)), given(requested))).toEqual([]);
    expect(decider.decide(redeem(at(6), at(2)), given(requested))).toEqual([
      { type: 'DevicePollingSlowed', data: { device_id: 'dev_1', interval: 10, at: at(6) } },
    ]);
    const slowed = given(requested, { type: 'DevicePollingSlowed', data: { device_id: 'dev_1', interval: 10, at: at(6) } });
    expect(decider.decide(redeem(at(15), at(6)), slowed)).toEqual([
      { type: 'DevicePollingSlowed', data: { device_id: 'dev_1', interval: 15, at: at(15) } },
    ]);
    expect(decider.decide(redeem(at(16), at(6)), slowed)).toEqual([]);
  });

  it('completes once after approval, then answers EXPIRED_TOKEN', () => {
    const events = decider.decide(redeem(at(20)), given(requested, approved));
    expect(events).toEqual([{ type: 'DeviceAuthorizationCompleted', data: { device_id: 'dev_1', key_id: 'key_9', completed_at: at(20) } }]);
    expect(() => decider.decide(redeem(at(30)), given(requested, approved, events[0]))).toThrow(
      expect.objectContaining({ code: 'EXPIRED_TOKEN' }) as unknown as Error,
    );
  });

  it('expires after 900 seconds whatever its state', () => {
    expect(() => decider.decide(redeem(at(900)), given(requested))).toThrow(expect.objectContaining({ code: 'EXPIRED_TOKEN' }) as unknown as Error);
    expect(() => decider.decide(redeem(at(901)), given(requested, approved))).toThrow(expect.objectContaining({ code: 'EXPIRED_TOKEN' }) as unknown as Error);
    const approve = { type: 'ApproveDeviceAuthorization' as const, data: { ...approved.data, now: at(901) } };
    expect(() => decider.decide(approve, given(requested))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }) as unknown as Error);
  });

  it('answers ACCESS_DENIED once denied', () => {
    const denied = given(requested, { type: 'DeviceAuthorizationDenied', data: { device_id: 'dev_1', org_id: 'org_1', denied_by: 'key_1', denied_at: at(5) } });
    expect(() => decider.decide(redeem(at(10)), denied)).toThrow(expect.objectContaining({ code: 'ACCESS_DENIED' }) as unknown as Error);
  });

  it('reads user codes case-insensitively, with or without the dash, and only from its alphabet', () => {
    expect(normalizeUserCode('bcdf-ghjk')).toBe('BCDF-GHJK');
    expect(normalizeUserCode(' bcdfghjk ')).toBe('BCDF-GHJK');
    expect(normalizeUserCode('ABCD-EFGH')).toBeNull(); // vowels are not in the alphabet
    expect(normalizeUserCode('BCDF-GHJ')).toBeNull();
    for (let i = 0; i < 200; i++) expect(generateUserCode()).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  });
});
