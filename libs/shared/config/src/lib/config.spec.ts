import { ConfigError, readConfig } from './config';

describe('readConfig', () => {
  it('applies defaults for unset settings', () => {
    const config = readConfig(['PORT', 'KEYLEDGER_KEY_PREFIX', 'KEYLEDGER_MIGRATE_ON_START'], {});
    expect(config).toEqual({ PORT: 3000, KEYLEDGER_KEY_PREFIX: 'kl', KEYLEDGER_MIGRATE_ON_START: true });
  });

  it('coerces numbers and booleans from the environment', () => {
    const config = readConfig(['PORT', 'KEYLEDGER_MIGRATE_ON_START'], { PORT: '8080', KEYLEDGER_MIGRATE_ON_START: 'false' });
    expect(config).toEqual({ PORT: 8080, KEYLEDGER_MIGRATE_ON_START: false });
  });

  it('names the variable when a value is bad', () => {
    expect(() => readConfig(['PORT'], { PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => readConfig(['KEYLEDGER_KEY_PREFIX'], { KEYLEDGER_KEY_PREFIX: 'Bad_Prefix' })).toThrow(
      /KEYLEDGER_KEY_PREFIX: must be 2–10 lowercase/,
    );
  });

  it('treats an empty variable as unset', () => {
    expect(readConfig(['KEYLEDGER_OPERATOR_TOKEN'], { KEYLEDGER_OPERATOR_TOKEN: '' })).toEqual({ KEYLEDGER_OPERATOR_TOKEN: undefined });
  });
});

describe('rate-limit settings', () => {
  it('fail mode defaults: reads open, writes and key creation closed; each class can be set', () => {
    expect(readConfig(['KEYLEDGER_RATE_LIMIT_FAIL_MODE'], {}).KEYLEDGER_RATE_LIMIT_FAIL_MODE).toEqual({ read: 'open', write: 'closed', key_create: 'closed' });
    expect(readConfig(['KEYLEDGER_RATE_LIMIT_FAIL_MODE'], { KEYLEDGER_RATE_LIMIT_FAIL_MODE: 'write=open' }).KEYLEDGER_RATE_LIMIT_FAIL_MODE).toEqual({
      read: 'open',
      write: 'open',
      key_create: 'closed',
    });
    expect(() => readConfig(['KEYLEDGER_RATE_LIMIT_FAIL_MODE'], { KEYLEDGER_RATE_LIMIT_FAIL_MODE: 'read=maybe' })).toThrow(/KEYLEDGER_RATE_LIMIT_FAIL_MODE/);
  });

  it('per-IP limits parse per class', () => {
    expect(readConfig(['KEYLEDGER_RATE_LIMIT_PER_IP'], { KEYLEDGER_RATE_LIMIT_PER_IP: 'key_create=3:2' }).KEYLEDGER_RATE_LIMIT_PER_IP).toEqual({
      write: { per_minute: 60, burst: 30 },
      key_create: { per_minute: 3, burst: 2 },
    });
    expect(() => readConfig(['KEYLEDGER_RATE_LIMIT_PER_IP'], { KEYLEDGER_RATE_LIMIT_PER_IP: 'read=1:1' })).toThrow(/KEYLEDGER_RATE_LIMIT_PER_IP/);
  });
});
