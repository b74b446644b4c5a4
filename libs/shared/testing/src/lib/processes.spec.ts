import { ephemeralPortsStart, freePort } from './processes';

describe('freePort', () => {
  it('hands out distinct ports below the range outgoing connections take their local ports from', async () => {
    // This machine's range (Linux, CI and development alike) leaves room below it.
    const below = ephemeralPortsStart();
    expect(below).toBeGreaterThan(21_000);
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(below as number);
    }
  });
});
