export * from './lib/budget-feature.module';
export * from './lib/ledger.service';
export * from './lib/ledger.controller';
export * from './lib/ledger.processors';
export * from './lib/wallet-batcher';
