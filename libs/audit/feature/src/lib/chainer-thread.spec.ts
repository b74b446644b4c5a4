import { ConfigError } from '@keyledger/config';
import { generateSigningSeed } from '@keyledger/audit-domain';
import { chainerOptionsFromConfig } from './chainer-thread';

describe("the chainer thread's settings", () => {
  const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/keyledger', KEYLEDGER_AUDIT_SIGNING_KEY: generateSigningSeed() };

  it('polls every KEYLEDGER_AUDIT_CHAIN_POLL_MS, 200 ms unless set, whatever the other log processors poll at', () => {
    expect(chainerOptionsFromConfig({ ...env, KEYLEDGER_PROCESSOR_POLL_MS: '20' }).pollMs).toBe(200);
    expect(chainerOptionsFromConfig({ ...env, KEYLEDGER_AUDIT_CHAIN_POLL_MS: '20' }).pollMs).toBe(20);
    expect(() => chainerOptionsFromConfig({ ...env, KEYLEDGER_AUDIT_CHAIN_POLL_MS: '1' })).toThrow(ConfigError);
    expect(() => chainerOptionsFromConfig({ ...env, KEYLEDGER_AUDIT_CHAIN_POLL_MS: '1' })).toThrow(/KEYLEDGER_AUDIT_CHAIN_POLL_MS/);
  });

  it('signs every KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS events or _EVERY_SECONDS', () => {
    expect(chainerOptionsFromConfig(env).policy).toEqual({ everyEvents: 1000, everyMs: 60_000 });
    expect(chainerOptionsFromConfig({ ...env, KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS: '7', KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS: '1.5' }).policy).toEqual({ everyEvents: 7, everyMs: 1500 });
  });
});
