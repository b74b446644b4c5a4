import { ephemeralPortsStart, freePort } from './processes';

describe('freePort', () => {
  it('hands out distinct ports below the range outgoing connections take their local ports from', async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
    for (const port of ports) {
      expect(port).toBeGreaterThan(1024);
      expect(port).toBeLessThan(ephemeralPortsStart());
    }
  });
});
