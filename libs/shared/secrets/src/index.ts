export * from './lib/sealing';
