export * from './lib/ids';
export * from './lib/windows';
export * from './lib/budget';
export * from './lib/ledger.decider';
