export * from './lib/keys-feature.module';
export * from './lib/key-registry.service';
