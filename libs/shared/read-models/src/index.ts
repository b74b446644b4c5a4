export * from './lib/tables';
export * from './lib/key-lookup';
export * from './lib/views';
