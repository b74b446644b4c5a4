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
