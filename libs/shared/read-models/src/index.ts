export * from './lib/tables';
export * from './lib/key-lookup';
export * from './lib/views';
export * from './lib/pagination';
export * from './lib/keys-queries';
export * from './lib/budget-tables';
export * from './lib/budget-queries';
export * from './lib/audit-queries';
