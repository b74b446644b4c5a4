import { PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { validationError } from './api-error';

/**
 * Validates a request part against a zod schema; strict objects name unknown fields. Every problem
 * becomes one `details.fields` entry.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    const fields = parsed.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'unknown field' }));
      }
      return [{ field: issue.path.join('.') || 'body', message: issue.message }];
    });
    throw validationError(fields);
  }
}
