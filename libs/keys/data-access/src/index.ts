export * from './lib/migrations';
export * from './lib/keys.projection';
export * from './lib/keys.repository';
