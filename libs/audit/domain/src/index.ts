export * from './lib/canonical-json';
export * from './lib/event-hash';
export * from './lib/checkpoint';
export * from './lib/chain-verifier';
export * from './lib/attestation.decider';
