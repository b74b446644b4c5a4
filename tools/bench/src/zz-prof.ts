import { budgetProjection } from '@keyledger/budget-data-access';
import { BatchRows } from '../../../libs/shared/event-store/src/lib/row-projection';
const events: any[] = [];
let pos = 0;
for (let c = 0; c < 5; c++) for (let u = 0; u < 2000; u++) {
  const facts = { org_id: 'org_' + u, environment: 'test', currency: 'usd', agent_id: 'agt_' + u, day: '2026-11-22' };
  const sp = 'sp' + u + '_' + c;
  events.push({ type: 'SpendAuthorized', position: pos++, data: { ...facts, spend_id: sp, amount: 100, capture: true, merchant: 'm', description: 'd', attestation: null, idempotency_key: null, authorized_at: '2026-11-22T10:00:07+00:00', expires_at: null } });
  events.push({ type: 'SpendCaptured', position: pos++, data: { ...facts, spend_id: sp, amount: 100, released_amount: 0, captured_at: '2026-11-22T10:00:07+00:00' } });
  events.push({ type: 'SpendRefunded', position: pos++, data: { ...facts, spend_id: sp, amount: 10, refunded_at: '2026-11-22T10:00:07+00:00' } });
}
for (let round = 0; round < 4; round++) {
  const rows = new BatchRows(budgetProjection.tables);
  let t = performance.now(); let c0 = process.cpuUsage();
  for (const e of events) budgetProjection.apply(e, rows as any);
  let c = process.cpuUsage(c0);
  const f = [(performance.now() - t).toFixed(0), ((c.user + c.system) / 1000).toFixed(0)];
  rows.applying = true;
  t = performance.now(); c0 = process.cpuUsage();
  for (const e of events) budgetProjection.apply(e, rows as any);
  c = process.cpuUsage(c0);
  console.log(events.length, 'find', f, 'apply', (performance.now() - t).toFixed(0), ((c.user + c.system) / 1000).toFixed(0));
}
