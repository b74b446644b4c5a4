export * from './lib/keys-feature.module';
export * from './lib/key-registry.service';
export * from './lib/agents.service';
export * from './lib/device-authorization.service';
