import { z } from 'zod';
import { ApiError } from './api-error';
import { ZodPipe } from './validation';

describe('ZodPipe', () => {
  const pipe = new ZodPipe(z.strictObject({ name: z.string().min(1), amount: z.number().int().positive().optional() }));

  function problems(value: unknown) {
    try {
      pipe.transform(value);
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe('VALIDATION_ERROR');
      return (error as ApiError).details?.['fields'];
    }
    throw new Error('expected a validation error');
  }

  it('passes valid input through, parsed', () => {
    expect(pipe.transform({ name: 'a', amount: 3 })).toEqual({ name: 'a', amount: 3 });
  });

  it('names every bad field and every unknown field', () => {
    expect(problems({ name: '', amount: -1, colour: 'red', size: 2 })).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'name' }),
        expect.objectContaining({ field: 'amount' }),
        { field: 'colour', message: 'unknown field' },
        { field: 'size', message: 'unknown field' },
      ]),
    );
  });

  it('treats a missing body as an empty object', () => {
    expect(problems(undefined)).toEqual([expect.objectContaining({ field: 'name' })]);
  });
});
