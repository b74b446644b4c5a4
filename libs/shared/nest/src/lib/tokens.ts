/** Injection tokens shared by every app. */
export const DB = Symbol('keyledger.db');
export const NATS_CONNECTION = Symbol('keyledger.nats');
export const LOGGER = Symbol('keyledger.logger');
export const SERVICE_NAME = Symbol('keyledger.service-name');
export const INLINE_PROJECTION = Symbol('keyledger.inline-projection');
/** `false`: the command runner leaves publishing a service's events to the outbox relay alone. */
export const PUBLISH_ON_COMMIT = Symbol('keyledger.publish-on-commit');
