import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AuditPublicKeyView, AuditSubjects, AuditVerifyView, CommandMeta } from '@keyledger/contracts';
import { Auth, CurrentKey, KeyPrincipal, RequestMeta, ServiceClients, visibilityOf, ZodPipe } from '@keyledger/gateway-http';
import { DB } from '@keyledger/nest';
import { auditEventView, listAuditEvents } from '@keyledger/read-models';

const Position = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const EventsQuery = z.strictObject({
  after: Position.optional(),
  cursor: Position.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  type: z.string().min(1).max(100).optional(),
  agent_id: z.string().min(1).max(100).optional(),
});
export const ExportQuery = z.strictObject({
  after: Position.optional(),
  type: z.string().min(1).max(100).optional(),
  agent_id: z.string().min(1).max(100).optional(),
});
const EXPORT_PAGE = 1000;

@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly services: ServiceClients,
    @Inject(DB) private readonly db: Kysely<any>,
  ) {}

  /** The Ed25519 key that signs the chain's checkpoints: public, so anyone can pin it. */
  @Get('public-key')
  @Auth.none()
  publicKey(@RequestMeta() meta: CommandMeta): Promise<AuditPublicKeyView> {
    return this.services.auditAttestation.send(AuditSubjects.publicKey, {}, meta);
  }

  @Get('events')
  @Auth.key('audit:read')
  async events(@Query(new ZodPipe(EventsQuery)) query: z.infer<typeof EventsQuery>, @CurrentKey() principal: KeyPrincipal) {
    const after = query.after ?? query.cursor ?? 0;
    const rows = await listAuditEvents(this.db, visibilityOf(principal), { after, type: query.type, agentId: query.agent_id }, query.limit + 1);
    const items = rows.slice(0, query.limit).map(auditEventView);
    return { items, next_cursor: rows.length > query.limit ? String(items[items.length - 1].position) : null };
  }

  @Get('verify')
  @Auth.key('audit:read')
  verify(@RequestMeta() meta: CommandMeta): Promise<AuditVerifyView> {
    return this.services.auditAttestation.send(AuditSubjects.verify, {}, meta);
  }

  /** NDJSON, one event a line, read a page at a time and written as the client takes it. */
  @Get('export')
  @Auth.key('audit:read')
  async export(
    @Query(new ZodPipe(ExportQuery)) query: z.infer<typeof ExportQuery>,
    @CurrentKey() principal: KeyPrincipal,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const visibility = visibilityOf(principal);
    reply.hijack();
    const raw = reply.raw;
    // Headers set by the gateway's hooks (rate limit, request id) carry over to the raw response.
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value as string | number | string[]);
    raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'x-request-id': reply.request.id });
    let after = query.after ?? 0;
    try {
      for (;;) {
        const rows = await listAuditEvents(this.db, visibility, { after, type: query.type, agentId: query.agent_id }, EXPORT_PAGE);
        for (const row of rows) {
          if (!raw.write(JSON.stringify(auditEventView(row)) + '\n')) await new Promise((resolve) => raw.once('drain', resolve));
          if (raw.destroyed) return;
        }
        if (rows.length < EXPORT_PAGE) break;
        after = rows[rows.length - 1].position;
      }
    } finally {
      raw.end();
    }
  }
}
