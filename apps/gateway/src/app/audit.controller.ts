import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AuditPublicKeyView, AuditSubjects, AuditVerifyView, CommandMeta } from '@keyledger/contracts';
import { checkpointOf, LogCheckpoint } from '@keyledger/event-store';
import { Auth, CurrentKey, KeyPrincipal, RequestMeta, Schemas, ServiceClients, validationError, visibilityOf, ZodPipe } from '@keyledger/gateway-http';
import { DB, LOGGER } from '@keyledger/nest';
import { AuditEventFilter, auditEventPlace, auditEventView, listAuditEvents, Visibility } from '@keyledger/read-models';

const Position = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const After = Position.describe('the position of an event the caller sees (its organization’s and environment’s): the listing resumes right after it, in log order (0: from the start)');
export const EventsQuery = z.strictObject({
  after: After.optional(),
  cursor: Position.describe('`next_cursor` of the page before; not together with `after`').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(20),
  type: z.string().min(1).max(100).optional(),
  agent_id: Schemas.id('agt').optional(),
});
export const ExportQuery = z.strictObject({
  after: After.optional(),
  type: z.string().min(1).max(100).optional(),
  agent_id: Schemas.id('agt').optional(),
});
const EXPORT_PAGE = 1000;

@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly services: ServiceClients,
    @Inject(DB) private readonly db: Kysely<any>,
    @Inject(LOGGER) private readonly logger: Logger,
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
    if (query.after !== undefined && query.cursor !== undefined) {
      throw validationError([{ field: 'cursor', message: 'cannot go with after: both say where the page starts' }]);
    }
    const visibility = visibilityOf(principal);
    const field = query.cursor !== undefined ? 'cursor' : 'after';
    const after = await this.placeOf(visibility, field, query.cursor ?? query.after ?? 0);
    const rows = await listAuditEvents(this.db, visibility, { after, type: query.type, agentId: query.agent_id }, query.limit + 1);
    const items = rows.slice(0, query.limit).map(auditEventView);
    return { items, next_cursor: rows.length > query.limit ? String(items[items.length - 1].position) : null };
  }

  @Get('verify')
  @Auth.key('audit:read')
  verify(@RequestMeta() meta: CommandMeta): Promise<AuditVerifyView> {
    return this.services.auditAttestation.send(AuditSubjects.verify, {}, meta);
  }

  /**
   * NDJSON, one event a line, read a page at a time and written as the client takes it. The first
   * page is read before anything is sent, so a failure there is an ordinary error answer (503 with
   * the database down); a failure later aborts the response, so the client never takes a cut-off
   * export for a complete one.
   */
  @Get('export')
  @Auth.key('audit:read')
  async export(
    @Query(new ZodPipe(ExportQuery)) query: z.infer<typeof ExportQuery>,
    @CurrentKey() principal: KeyPrincipal,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const visibility = visibilityOf(principal);
    const filter: AuditEventFilter = { after: await this.placeOf(visibility, 'after', query.after ?? 0), type: query.type, agentId: query.agent_id };
    let rows = await listAuditEvents(this.db, visibility, filter, EXPORT_PAGE);
    reply.hijack();
    const raw = reply.raw;
    // Headers set by the gateway's hooks (rate limit, request id) carry over to the raw response.
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value as string | number | string[]);
    raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'x-request-id': reply.request.id });
    try {
      for (;;) {
        for (const row of rows) {
          if (!raw.write(JSON.stringify(auditEventView(row)) + '\n')) await drainedOrClosed(raw);
          if (raw.destroyed) return;
        }
        if (rows.length < EXPORT_PAGE) break;
        rows = await listAuditEvents(this.db, visibility, { ...filter, after: checkpointOf(rows[rows.length - 1]) }, EXPORT_PAGE);
      }
      raw.end();
    } catch (error) {
      // The 200 is sent: all that is left is to break the chunked body off, which the client sees as a failed read.
      this.logger.warn({ err: error, request_id: reply.request.id }, 'audit export aborted');
      raw.destroy();
    }
  }

  /** Where a listing given `after`/`cursor` resumes; a position that is no event of the caller's organization is refused. */
  private async placeOf(visibility: Visibility, field: 'after' | 'cursor', position: number): Promise<LogCheckpoint> {
    const place = await auditEventPlace(this.db, visibility, position);
    if (!place) throw validationError([{ field, message: 'is not the position of an event this key can see listed (a new event is listed within moments)' }]);
    return place;
  }
}

/** Resolves when a backed-up stream can take more, or when it closes (a client gone never drains). */
export function drainedOrClosed(stream: NodeJS.EventEmitter & { destroyed: boolean }): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}
