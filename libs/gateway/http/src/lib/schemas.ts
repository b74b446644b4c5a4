import { z } from 'zod';
import { ENVIRONMENTS, SCOPES } from '@keyledger/contracts';
import { decodeCursor, PageCursor } from '@keyledger/read-models';
import { PipeTransform } from '@nestjs/common';
import { ApiError, validationError } from './api-error';

/** Request-part schemas shared by many routes. */
export const Schemas = {
  environment: z.enum(ENVIRONMENTS),
  scopes: z.array(z.enum(SCOPES)).min(1, 'must name at least one scope').max(SCOPES.length),
  isoTime: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp' }),
  id: (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[0-9A-Za-z]{1,64}$`), `must be an id starting with ${prefix}_`),
  listQuery: {
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(200).optional(),
  },
};

export function pageCursor(cursor: string | undefined): PageCursor | null {
  if (cursor === undefined) return null;
  const decoded = decodeCursor(cursor);
  if (decoded === null) throw validationError([{ field: 'cursor', message: 'is not a cursor this API issued' }]);
  return decoded;
}

/** A resource id in the path: one that cannot exist is simply not found. */
export class IdPipe implements PipeTransform<string, string> {
  private readonly pattern: RegExp;
  constructor(private readonly prefix: 'key' | 'agt' | 'spd' | 'att' | 'org') {
    this.pattern = new RegExp(`^${prefix}_[0-9A-Za-z]{1,64}$`);
  }
  transform(value: string): string {
    if (!this.pattern.test(value)) throw new ApiError('NOT_FOUND', `no such ${this.prefix === 'agt' ? 'agent' : 'resource'}`);
    return value;
  }
}
