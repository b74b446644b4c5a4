export * from './lib/migrations';
export * from './lib/keys.projection';
