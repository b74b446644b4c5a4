export * from './lib/tables';
export * from './lib/migrations';
export * from './lib/budget.projection';
export * from './lib/budget.repository';
