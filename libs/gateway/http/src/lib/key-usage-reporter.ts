import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { commandMessage, KeyUsageReport, Subjects } from '@keyledger/contracts';
import { ServiceClients } from './service-clients';

/**
 * Remembers which keys were used and tells the key-registry once a second (`last_used_at`), so
 * authentication never waits on a write.
 */
@Injectable()
export class KeyUsageReporter implements OnModuleInit, OnApplicationShutdown {
  private pending = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly services: ServiceClients) {}

  used(keyId: string): void {
    this.pending.set(keyId, new Date().toISOString());
  }

  onModuleInit() {
    this.timer = setInterval(() => this.report(), 1000);
    this.timer.unref();
  }

  onApplicationShutdown() {
    if (this.timer) clearInterval(this.timer);
    this.report();
  }

  private report(): void {
    if (this.pending.size === 0) return;
    const report: KeyUsageReport = { used: Object.fromEntries(this.pending) };
    this.pending = new Map();
    this.services.keyRegistry.emit(
      Subjects.keys.recordKeyUsage,
      commandMessage({ request_id: 'sys_key_usage', actor_key_id: null, agent_id: null, ip: null, idempotency_key: null }, report),
    );
  }
}
