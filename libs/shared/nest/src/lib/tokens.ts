/** Injection tokens shared by every app. */
export const DB = Symbol('keyledger.db');
export const NATS_CONNECTION = Symbol('keyledger.nats');
export const LOGGER = Symbol('keyledger.logger');
export const SERVICE_NAME = Symbol('keyledger.service-name');
export const INLINE_PROJECTION = Symbol('keyledger.inline-projection');
