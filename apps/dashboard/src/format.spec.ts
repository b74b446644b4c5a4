import { formatMoney, keyDisplay, normalizeUserCode, parseMoney, spendSeries, usedPercent } from './format';

describe('money as people read and type it', () => {
  it('shows minor units with the currency’s decimals', () => {
    expect(formatMoney(1234567, 'usd')).toBe('12,345.67 USD');
    expect(formatMoney(5, 'usd')).toBe('0.05 USD');
    expect(formatMoney(1_500_000, 'usdc')).toBe('1.500000 USDC');
  });

  it('reads typed amounts into minor units and refuses what is not a positive amount', () => {
    expect(parseMoney('100', 'usd')).toBe(10000);
    expect(parseMoney(' 40.5 ', 'usd')).toBe(4050);
    expect(parseMoney('0.000001', 'usdc')).toBe(1);
    for (const bad of ['', '0', '1.234', '-3', '1e3', 'ten']) expect(parseMoney(bad, 'usd')).toBeNull();
  });
});

describe('keys, codes and bars', () => {
  it('shows a key as prefix…last4', () => {
    expect(keyDisplay({ key_prefix: 'kl_live_', last4: 'x9Z2' })).toBe('kl_live_…x9Z2');
  });

  it('accepts a user code in any case, with or without the dash, and only of the RFC 8628 alphabet', () => {
    expect(normalizeUserCode('bcdf-ghjk')).toBe('BCDF-GHJK');
    expect(normalizeUserCode(' BCDF GHJK ')).toBe('BCDF-GHJK');
    expect(normalizeUserCode('ABCD-EFGH')).toBeNull(); // vowels are not in the alphabet
    expect(normalizeUserCode('BCDF-GHJ')).toBeNull();
  });

  it('fills a usage bar by the share used, never past full', () => {
    expect(usedPercent({ limit: 4000, used: 2500 })).toBe(62.5);
    expect(usedPercent({ limit: 100, used: 250 })).toBe(100);
    expect(usedPercent({ limit: 0, used: 0 })).toBe(0);
  });
});

describe('spend per agent over time', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 22, 10, minute)).toISOString();
  const spend = (agent_id: string, captured_amount: number, minute: number, extra: object = {}) => ({ agent_id, captured_amount, currency: 'usd', created_at: at(minute), ...extra });

  it('cumulates each agent’s captured spend, net of refunds, on one time axis', () => {
    const { start, end, series } = spendSeries(
      [spend('agt_a', 500, 5), spend('agt_b', 2000, 0), spend('agt_a', 300, 10, { refunded_amount: 100 }), spend('agt_a', 0, 12), spend('agt_c', 900, 3, { currency: 'eur' })],
      'usd',
    );
    expect({ start, end }).toEqual({ start: Date.parse(at(0)), end: Date.parse(at(10)) });
    expect(series.map((s) => [s.agent_id, s.total])).toEqual([
      ['agt_b', 2000],
      ['agt_a', 700],
    ]);
    expect(series[1].points).toEqual([
      { t: Date.parse(at(0)), total: 0 },
      { t: Date.parse(at(5)), total: 500 },
      { t: Date.parse(at(10)), total: 700 },
      { t: Date.parse(at(10)), total: 700 },
    ]);
  });

  it('draws nothing without captured spends', () => {
    expect(spendSeries([spend('agt_a', 0, 1)], 'usd').series).toEqual([]);
  });
});
