export * from './lib/sealing';
export * from './lib/key-digest';
