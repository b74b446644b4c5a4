/** Injection tokens shared by every app. */
export const DB = Symbol('keyledger.db');
export const NATS_CONNECTION = Symbol('keyledger.nats');
export const LOGGER = Symbol('keyledger.logger');
export const SERVICE_NAME = Symbol('keyledger.service-name');
