export * from './lib/audit-feature.module';
export * from './lib/audit-chainer';
export * from './lib/audit-signing-key';
export * from './lib/chainer-thread';
