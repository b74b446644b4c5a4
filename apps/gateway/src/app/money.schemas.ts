import { z } from 'zod';
import { BUDGET_INTERVALS } from '@keyledger/contracts';

/** Money in request bodies: positive safe integers of minor units, lowercase currency codes. */
export const Money = {
  amount: z.number().int('must be an integer number of minor units').min(1).max(Number.MAX_SAFE_INTEGER),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3,10}$/, 'must be a currency code such as usd')
    .transform((c) => c.toLowerCase()),
  percent: z
    .number()
    .min(0)
    .max(100)
    .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-9, 'must have at most 2 decimals'),
  limits: z
    .array(z.strictObject({ interval: z.enum(BUDGET_INTERVALS), amount: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }))
    .max(BUDGET_INTERVALS.length)
    .refine((limits) => new Set(limits.map((l) => l.interval)).size === limits.length, 'each interval at most once'),
};
